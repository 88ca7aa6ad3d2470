"""Authorizer function: HTTP API Lambda REQUEST authorizer with simple responses."""

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
)

from smsgw import services
from smsgw.logic.auth import authorizer_context
from smsgw.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    request = APIGatewayAuthorizerEventV2(event)
    header = (request.headers or {}).get("authorization")
    result = authorizer_context(header, services.tenants())
    logger.info("authorized", extra={"AccountSid": result["AccountSid"] or None})
    # Always admitted: the API answers failed authentication with its own 401 (the HTTP
    # API can only answer a denial with a bare 403). See docs/decisions.md.
    return {"isAuthorized": True, "context": result}
