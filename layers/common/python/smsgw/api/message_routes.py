"""Routes under /v1/Properties/{PropertySid}/Sms."""

from __future__ import annotations

import hashlib
import json
import time

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from smsgw import services
from smsgw.api.http_responses import json_response
from smsgw.api.request import caller, json_body, page_size, query_parameters
from smsgw.config import settings
from smsgw.errors import ErrorCode, NotFoundError, SmsGatewayError, ValidationError
from smsgw.ids import MESSAGE_PREFIX, is_well_formed, new_sid
from smsgw.logic.accept import (
    build_message,
    cancel,
    check_can_send,
    owned_property,
    store_and_queue,
)
from smsgw.models.message import STATUSES
from smsgw.models.send_request import parse_send_request
from smsgw.observability import Metric, emit, logger

router = Router()

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IDEMPOTENCY_LOCK_SECONDS = 30
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def _property_sid(value: str) -> str:
    if not is_well_formed(value):
        raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, "No such property.", "PropertySid")
    return value


@router.post("/v1/Properties/<PropertySid>/Sms")
def send_sms(PropertySid: str) -> Response:
    event = router.current_event
    who = caller(event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    check_can_send(prop, who.account_sms_enabled)
    body, _ = json_body(event, settings().max_body_bytes)
    now = time.time()
    limits = services.send_limits()
    request = parse_send_request(
        body,
        now=int(now),
        max_text_characters=limits.max_text_characters,
        allowed_webhook_networks=limits.allowed_webhook_networks,
    )
    logger.append_keys(PropertySid=prop.property_sid)
    key = (event.headers or {}).get("idempotency-key")
    if key is None:
        sid = new_sid(MESSAGE_PREFIX)
        lease = services.leasing().prepare(request, prop.account_sid, prop.property_sid, sid, now)
        message = build_message(request, prop, sid, now, "api", lease)
        return _accepted(store_and_queue(services.messages(), services.send_queue(), message, now))
    return _idempotent_send(key, body, request, prop, now)


def _idempotent_send(key, body, request, prop, now) -> Response:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            ErrorCode.IDEMPOTENCY_KEY_INVALID,
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters.",
            "Idempotency-Key",
        )
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body_hash = hashlib.sha256(canonical.encode()).hexdigest()
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    scope = f"{prop.account_sid}#{prop.property_sid}#{key_hash}"
    store = services.idempotency()
    record = store.claim(
        scope,
        body_hash,
        new_sid(MESSAGE_PREFIX),
        now=int(now),
        ttl=IDEMPOTENCY_TTL_SECONDS,
        lock=IDEMPOTENCY_LOCK_SECONDS,
    )
    if not record.claimed:
        if record.body_hash != body_hash:
            raise SmsGatewayError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was used with a different request body in the last 24 hours.",
                "Idempotency-Key",
            )
        if record.response is None:
            raise SmsGatewayError(
                ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS,
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                "Idempotency-Key",
            )
        return json_response(
            record.status_code or 200, record.response, {"Idempotent-Replayed": "true"}
        )
    try:
        sid = record.message_sid
        lease = services.leasing().prepare(request, prop.account_sid, prop.property_sid, sid, now)
        message = build_message(request, prop, sid, now, "api", lease)
        message = store_and_queue(services.messages(), services.send_queue(), message, now)
    except Exception:
        store.release(scope)
        raise
    response = {"Message": message.to_resource()}
    store.complete(scope, 200, response)
    emit(Metric.MESSAGES_ACCEPTED)
    return json_response(200, response)


def _accepted(message) -> Response:
    logger.info(
        "message accepted", extra={"MessageSid": message.message_sid, "Status": message.status}
    )
    emit(Metric.MESSAGES_ACCEPTED)
    return json_response(200, {"Message": message.to_resource()})


@router.get("/v1/Properties/<PropertySid>/Sms/<MessageSid>")
def get_sms(PropertySid: str, MessageSid: str) -> Response:
    who = caller(router.current_event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    message = services.messages().get(MessageSid) if is_well_formed(MessageSid) else None
    if message is None or message.property_sid != prop.property_sid:
        raise NotFoundError(
            ErrorCode.MESSAGE_NOT_FOUND, f"No message {MessageSid} in this property.", "MessageSid"
        )
    return json_response(200, {"Message": message.to_resource()})


@router.delete("/v1/Properties/<PropertySid>/Sms/<MessageSid>")
def cancel_sms(PropertySid: str, MessageSid: str) -> Response:
    who = caller(router.current_event)
    prop = owned_property(services.tenants(), _property_sid(PropertySid), who.account_sid)
    message = cancel(services.messages(), prop, MessageSid, time.time())
    logger.info("message cancelled", extra={"MessageSid": message.message_sid})
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
