"""The message a send request becomes: its sender ID chosen, its fields and first event
set; or, for a raw request that broke the contract, the `rejected` message kept in its
place."""

from __future__ import annotations

from typing import Any

from smsgw.errors import ErrorCode, SmsGatewayError, ValidationError
from smsgw.kernel.addresses import supports_alphanumeric
from smsgw.models.lease import Lease
from smsgw.models.message import QUEUED, REJECTED, SCHEDULED, Message, iso_from_epoch
from smsgw.models.send_request import SENDER_ALPHANUMERIC, SENDER_LEASE, SendRequest
from smsgw.models.tenant import Property


def choose_sender(request: SendRequest) -> str:
    """The sender ID the message goes out with."""
    needs_lease = request.sender_type == SENDER_LEASE or (
        request.sender_type == SENDER_ALPHANUMERIC and not supports_alphanumeric(request.to)
    )
    if needs_lease:
        raise ValidationError(
            ErrorCode.NO_LEASED_NUMBER_AVAILABLE,
            "No leased number is available for this recipient; send from an E.164 number "
            "or, where the destination allows it, an alphanumeric sender ID.",
            "From",
        )
    assert request.sender is not None
    return request.sender


def build_message(
    request: SendRequest,
    prop: Property,
    message_sid: str,
    now: float,
    source: str,
    lease: Lease | None = None,
) -> Message:
    """The message to store; `lease` (logic/leases.py) when the send needed one."""
    status = SCHEDULED if request.deliver_at > int(now) else QUEUED
    created = iso_from_epoch(now)
    return Message(
        lease=lease.to_message_item() if lease else None,
        message_sid=message_sid,
        account_sid=prop.account_sid,
        property_sid=prop.property_sid,
        sender=lease.number if lease else choose_sender(request),
        sender_type=request.sender_type,
        to=request.to,
        text=request.text,
        status=status,
        segments=request.text_info.segments,
        encoding=request.text_info.encoding,
        date_created=created,
        schedule=request.schedule,
        deliver_at=request.deliver_at,
        external_id=request.external_id,
        delivery_receipt=request.delivery_receipt,
        delivery_receipt_webhook_uri=request.delivery_receipt_webhook_uri,
        delivery_receipt_webhook_method=request.delivery_receipt_webhook_method,
        response_options=request.response_options.to_item() if request.response_options else None,
        source=source,
        events=[{"Status": status, "Timestamp": created}],
        validity_period=request.validity_period,
        valid_until=request.valid_until,
    )


def rejected_message(
    body: dict[str, Any],
    error: SmsGatewayError,
    message_sid: str,
    prop: Property | None,
    property_sid: str,
    now: float,
) -> Message:
    """A raw request that broke the contract, kept with its error instead of being lost."""
    created = iso_from_epoch(now)

    def text_field(name: str) -> str:
        value = body.get(name)
        return value if isinstance(value, str) else ""

    return Message(
        message_sid=message_sid,
        account_sid=prop.account_sid if prop else "",
        property_sid=property_sid,
        sender=text_field("From") or None,
        sender_type="",
        to=text_field("To"),
        text=text_field("Text"),
        status=REJECTED,
        segments=0,
        encoding="",
        date_created=created,
        date_final=created,
        error_code=error.code.number,
        error_message=error.message,
        external_id=text_field("ExternalId") or None,
        source="sqs",
        events=[{"Status": REJECTED, "Timestamp": created, "ErrorCode": error.code.number}],
    )
