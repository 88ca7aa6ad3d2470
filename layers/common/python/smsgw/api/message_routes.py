"""Routes under /v1/Properties/{PropertySid}/Sms."""

from __future__ import annotations

import time

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from smsgw import services
from smsgw.api.http_responses import json_response
from smsgw.api.request import caller, json_body, page_size, query_parameters
from smsgw.config import settings
from smsgw.errors import ErrorCode, NotFoundError, ValidationError
from smsgw.ids import is_well_formed
from smsgw.logic.cancellation import cancel
from smsgw.logic.redaction import redact
from smsgw.logic.tenancy import owned_message, owned_property
from smsgw.models.message import STATUSES
from smsgw.observability import logger

router = Router()


def _property_sid(value: str) -> str:
    if not is_well_formed(value):
        raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, "No such property.", "PropertySid")
    return value


@router.post("/v1/Properties/<PropertySid>/Sms")
def send_sms(PropertySid: str) -> Response:
    event = router.current_event
    who = caller(event)
    accepted = services.send_requests().accept(
        property_sid=_property_sid(PropertySid),
        account_sid=who.account_sid,
        account_sms_enabled=who.account_sms_enabled,
        read_body=lambda: json_body(event, settings().max_body_bytes)[0],
        idempotency_key=(event.headers or {}).get("idempotency-key"),
    )
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return json_response(accepted.status_code, accepted.body, headers)


@router.get("/v1/Properties/<PropertySid>/Sms/<MessageSid>")
def get_sms(PropertySid: str, MessageSid: str) -> Response:
    who = caller(router.current_event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    message = owned_message(services.messages(), prop, MessageSid)
    return json_response(200, {"Message": message.to_resource()})


@router.delete("/v1/Properties/<PropertySid>/Sms/<MessageSid>")
def cancel_sms(PropertySid: str, MessageSid: str) -> Response:
    who = caller(router.current_event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    message = cancel(services.messages(), prop, MessageSid, time.time())
    logger.info("message cancelled", extra={"MessageSid": message.message_sid})
    return json_response(200, {"Message": message.to_resource()})


@router.post("/v1/Properties/<PropertySid>/Sms/<MessageSid>/Redact")
def redact_sms(PropertySid: str, MessageSid: str) -> Response:
    who = caller(router.current_event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    message = redact(services.messages(), services.replies(), prop, MessageSid, time.time())
    logger.info("message redacted", extra={"MessageSid": message.message_sid})
    return json_response(200, {"Message": message.to_resource()})


@router.get("/v1/Properties/<PropertySid>/Sms")
def list_sms(PropertySid: str) -> Response:
    event = router.current_event
    who = caller(event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    query = query_parameters(event, ("ExternalId", "PageSize", "PageToken", "Status", "To"))
    status = query.get("Status")
    if status is not None and status not in STATUSES:
        raise ValidationError(
            ErrorCode.INVALID_QUERY_PARAMETER,
            f"Status must be one of {', '.join(STATUSES)}.",
            "Status",
        )
    messages, next_token = services.messages().list(
        prop.property_sid,
        external_id=query.get("ExternalId"),
        to=query.get("To"),
        status=status,
        page_size=page_size(query),
        page_token=query.get("PageToken"),
    )
    return json_response(
        200,
        {
            "Messages": [m.to_resource() for m in messages],
            "NextPageToken": next_token,
        },
    )
