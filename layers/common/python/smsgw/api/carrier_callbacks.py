"""The webhooks function's resolver: carrier callbacks, verified by the carrier's signature.

No Basic auth here (the routes have no authorizer); the carrier's signature is the only
credential. Every answer a carrier can cause is a 2xx or a 4xx in the product's format.
"""

from __future__ import annotations

import base64
import binascii
import time
from functools import cache
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from smsgw.api.responses import error_response, json_response
from smsgw.carriers.base import CallbackRequest
from smsgw.errors import ErrorCode, NotFoundError, SmsGatewayError, ValidationError
from smsgw.logic.receipts import ReceiptProcessor
from smsgw.models.message import iso_from_epoch
from smsgw.observability import logger

app = APIGatewayHttpResolver()


@cache
def processor() -> ReceiptProcessor:
    from smsgw import services

    return ReceiptProcessor(
        carrier=services.carrier(),
        store=services.receipts(),
        callbacks=services.callback_queue(),
    )


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


def _receipt(carrier: str) -> Response:
    from smsgw.config import settings

    config = settings()
    if carrier.lower() != config.carrier:
        raise NotFoundError(
            ErrorCode.CARRIER_NOT_FOUND, f"This deployment does not use carrier {carrier}.", None
        )
    event = app.current_event.raw_event
    request = callback_request(event, config.public_base_url)
    epoch_ms = (event.get("requestContext") or {}).get("timeEpoch")
    now = time.time()
    received_at = iso_from_epoch(epoch_ms / 1000 if isinstance(epoch_ms, int) else now)
    outcome = processor().handle(request, received_at, now)
    logger.info(
        "receipt handled",
        extra={
            "MessageSid": outcome.message_sid,
            "Receipt": outcome.result,
            "Status": outcome.status,
            "CallbackQueued": outcome.callback_queued,
        },
    )
    return json_response(200, {"Receipt": outcome.result})


@app.post("/v1/Carriers/<carrier>/Receipts")
def post_receipt(carrier: str) -> Response:
    return _receipt(carrier)


@app.get("/v1/Carriers/<carrier>/Receipts")
def get_receipt(carrier: str) -> Response:
    return _receipt(carrier)


@app.exception_handler(SmsGatewayError)
def handle_gateway_error(error: SmsGatewayError) -> Response:
    logger.warning(
        "callback refused", extra={"ErrorCode": error.code.number, "Reason": error.message}
    )
    return error_response(error)


@app.not_found
def handle_not_found(_: Exception) -> Response:
    return error_response(
        SmsGatewayError(ErrorCode.ROUTE_NOT_FOUND, "No such resource or method.", None)
    )
