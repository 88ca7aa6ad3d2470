"""The webhooks function's resolver: carrier callbacks, verified by the carrier's signature.

Served on the function's own URL (template.yaml, `FunctionUrlConfig`), not the HTTP API.
No Basic auth here; the carrier's signature is the only credential. Every answer a carrier
can cause is a 2xx or a 4xx in the product's format; a fault of ours (DynamoDB unavailable)
is a 500 in the same format, which the carrier retries.
`{Carrier}` in the path picks the adapter (twilio, vonage or eum); a carrier the deployment
has no credentials for is a 404. SNS subscription confirmations (End User Messaging) are
verified and confirmed before anything else.
"""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response

from smsgw.api.http_responses import error_response, json_response
from smsgw.carriers import CarrierNotConfiguredError
from smsgw.errors import ErrorCode, NotFoundError, SmsGatewayError, ValidationError
from smsgw.logic.ports import Carrier
from smsgw.logic.receipts import ReceiptProcessor
from smsgw.models.carrier import CallbackRequest, CarrierError
from smsgw.models.message import iso_from_epoch
from smsgw.observability import logger
from smsgw.warm import warm

app = LambdaFunctionUrlResolver()  # API Gateway HTTP API (v2) events have the same shape

SUBSCRIPTION_CONFIRMED = "confirmed"
"""`{"Subscription": "confirmed"}`: the answer to a genuine SNS SubscriptionConfirmation."""
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
"""Twilio's reply answer: no auto-reply to the responder."""


def adapter(carrier: str) -> Carrier:
    """The adapter named in the path; NotFoundError for a carrier this deployment has no
    credentials for (or that does not exist)."""
    from smsgw import services

    try:
        return services.carriers().get(carrier)
    except CarrierNotConfiguredError as exc:
        raise NotFoundError(
            ErrorCode.CARRIER_NOT_FOUND, f"This deployment does not use carrier {carrier}.", None
        ) from exc


@warm
def processor(carrier: str) -> ReceiptProcessor:
    from smsgw import services

    return ReceiptProcessor(carrier=adapter(carrier), store=services.receipts())


def callback_request(event: dict, public_base_url: str) -> CallbackRequest:
    """The carrier's request as it sent it: the exact URL it called (signatures cover it),
    its headers and its body (decoded when API Gateway base64-encoded it)."""
    context = event.get("requestContext") or {}
    base = public_base_url or f"https://{context.get('domainName', '')}"
    raw_query = event.get("rawQueryString") or ""
    url = base + (event.get("rawPath") or "/") + (f"?{raw_query}" if raw_query else "")
    body = event.get("body") or ""
    if body and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(
                ErrorCode.RECEIPT_INVALID, "The callback body could not be decoded.", None
            ) from exc
    return CallbackRequest(
        method=(context.get("http") or {}).get("method", "POST"),
        url=url,
        headers=dict(event.get("headers") or {}),
        body=body,
        query=dict(parse_qsl(raw_query, keep_blank_values=True)),
    )


def _incoming() -> tuple[CallbackRequest, str, float]:
    """The callback as it was sent, with when it arrived. Receipts and replies alike; the
    processors verify its signature first."""
    from smsgw.config import settings

    config = settings()
    event = app.current_event.raw_event
    request = callback_request(event, config.public_base_url)
    epoch_ms = (event.get("requestContext") or {}).get("timeEpoch")
    now = time.time()
    received_at = iso_from_epoch(epoch_ms / 1000 if isinstance(epoch_ms, int) else now)
    return request, received_at, now


def _subscription_confirmed(carrier: Carrier, request: CallbackRequest) -> bool:
    """True when the callback was a genuine SNS SubscriptionConfirmation, now confirmed."""
    confirm = getattr(carrier, "confirm_subscription", None)
    if confirm is None:
        return False
    try:
        confirmed = bool(confirm(request))
    except CarrierError as exc:
        # Ours to retry (SNS could not be reached): SNS sends the confirmation again. The
        # reason is for our logs only: the answer names no host.
        logger.warning("sns subscription not confirmed", extra={"reason": str(exc)})
        raise SmsGatewayError(
            ErrorCode.INTERNAL_ERROR, "The subscription could not be confirmed; retry.", None
        ) from exc
    if confirmed:
        logger.info("sns subscription confirmed", extra={"Carrier": carrier.name})
    return confirmed


def _callback(carrier: str, handle) -> Response:
    """A carrier's callback: its adapter (404 for an unknown carrier), the request as it
    arrived, an SNS subscription confirmation answered; else `handle(name, request,
    received_at, now)` answers it."""
    name = carrier.lower()
    found = adapter(name)
    request, received_at, now = _incoming()
    if _subscription_confirmed(found, request):
        return json_response(200, {"Subscription": SUBSCRIPTION_CONFIRMED})
    return handle(name, request, received_at, now)


def _receipt(carrier: str) -> Response:
    return _callback(carrier, _handle_receipt)


def _handle_receipt(name: str, request, received_at: str, now: float) -> Response:
    outcome = processor(name).handle(request, received_at, now)
    logger.info(
        "receipt handled",
        extra={
            "MessageSid": outcome.message_sid,
            "Receipt": outcome.result,
            "Status": outcome.status,
        },
    )
    return json_response(200, {"Receipt": outcome.result})


@warm
def reply_processor(carrier: str):
    from smsgw import services
    from smsgw.logic.replies import ReplyProcessor

    return ReplyProcessor(
        carrier=adapter(carrier),
        leases=services.lease_store(),
        store=services.replies(),
        tenants=services.tenants(),
    )


def _reply(carrier: str) -> Response:
    """An inbound SMS (a reply on a leased number), verified like a receipt."""
    return _callback(carrier, _handle_reply)


def _handle_reply(name: str, request, received_at: str, now: float) -> Response:
    outcome = reply_processor(name).handle(request, received_at, now)
    logger.info(
        "reply handled",
        extra={
            "ReplySid": outcome.reply_sid,
            "Reply": outcome.result,
            "Forwards": outcome.forwards,
        },
    )
    if name == "twilio":
        return Response(200, "text/xml", EMPTY_TWIML)
    return json_response(200, {"Reply": outcome.result})


CALLBACK_ROUTES = (
    ("POST", "/v1/Carriers/{Carrier}/Receipts"),
    ("GET", "/v1/Carriers/{Carrier}/Receipts"),
    ("POST", "/v1/Carriers/{Carrier}/Responses"),
    ("GET", "/v1/Carriers/{Carrier}/Responses"),
)
"""The function URL's routes (carriers call either method, as configured); the OpenAPI
document is built from this tuple too."""

for _method, _path in CALLBACK_ROUTES:
    _kind = _path.rsplit("/", 1)[1]
    app.route(_path.replace("{Carrier}", "<carrier>"), method=[_method])(
        {"Receipts": _receipt, "Responses": _reply}[_kind]
    )


@app.exception_handler(SmsGatewayError)
def handle_gateway_error(error: SmsGatewayError) -> Response:
    logger.warning(
        "callback refused", extra={"ErrorCode": error.code.number, "Reason": error.message}
    )
    return error_response(error)


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response:
    # A fault of ours or of AWS (DynamoDB throttled beyond botocore's retries): a 500 in
    # the error format, so that the carrier retries the callback; what the first attempt
    # wrote is harmless to write again (docs/reliability.md, "AWS faults").
    logger.exception("callback failed")
    return error_response(
        SmsGatewayError(ErrorCode.INTERNAL_ERROR, "Something went wrong on our side; retry.", None)
    )


@app.not_found
def handle_not_found(_: Exception) -> Response:
    return error_response(
        SmsGatewayError(ErrorCode.ROUTE_NOT_FOUND, "No such resource or method.", None)
    )
