"""The public API's resolver: routers included, errors mapped to responses in one place."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from smsgw.api import messages, responses_routes
from smsgw.api.responses import error_response
from smsgw.errors import ErrorCode, SmsGatewayError
from smsgw.observability import logger

app = APIGatewayHttpResolver()
app.include_router(messages.router)
app.include_router(responses_routes.router)


@app.exception_handler(SmsGatewayError)
def handle_gateway_error(error: SmsGatewayError) -> Response:
    logger.info(
        "request refused", extra={"ErrorCode": error.code.number, "Parameter": error.parameter}
    )
    return error_response(error)


@app.not_found
def handle_not_found(_: Exception) -> Response:
    return error_response(
        SmsGatewayError(ErrorCode.ROUTE_NOT_FOUND, "No such resource or method.", None)
    )


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response:
    # A fault of ours or of a dependency, never of the request: log it, answer 500 in the
    # API's error format; the client may retry (with an Idempotency-Key, safely).
    logger.exception("unexpected error")
    return error_response(
        SmsGatewayError(ErrorCode.INTERNAL_ERROR, "Something went wrong on our side; retry.", None)
    )
