"""Accepting a send request: tenancy checks, sender ID choice, storing and queueing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from smsgw import explanations
from smsgw.errors import (
    ConflictError,
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    SmsGatewayError,
    ValidationError,
)
from smsgw.ids import is_well_formed
from smsgw.kernel.addresses import supports_alphanumeric
from smsgw.kernel.scheduling import waits_in_table
from smsgw.logic.ports import Messages, SendJobs, Tenants
from smsgw.models.lease import Lease
from smsgw.models.message import (
    CANCELLED,
    FAILED,
    QUEUED,
    REJECTED,
    SCHEDULED,
    Message,
    iso_from_epoch,
)
from smsgw.models.send_request import (
    SENDER_ALPHANUMERIC,
    SENDER_LEASE,
    SendRequest,
    parse_send_request,
)
from smsgw.models.tenant import Property


@dataclass(frozen=True, slots=True)
class SendLimits:
    max_text_characters: int = 1600
    allowed_webhook_networks: tuple = ()


def check_can_send(prop: Property, account_sms_enabled: bool) -> None:
    """The seed: the account and the property must both be enabled for SMS."""
    if not account_sms_enabled:
        raise ForbiddenError(
            ErrorCode.ACCOUNT_SMS_DISABLED,
            "This account is not enabled for SMS; contact client services to enable it.",
            None,
        )
    if not prop.sms_enabled:
        raise ForbiddenError(
            ErrorCode.PROPERTY_SMS_DISABLED,
            "This property is not enabled for SMS; contact client services to enable it.",
            "PropertySid",
        )


def owned_property(tenants: Tenants, property_sid: str, account_sid: str) -> Property:
    """The caller's property; another account's property is not found (404, not 403)."""
    prop = tenants.get_property(property_sid)
    if prop is None or prop.account_sid != account_sid:
        raise NotFoundError(
            ErrorCode.PROPERTY_NOT_FOUND,
            f"No property {property_sid} in this account.",
            "PropertySid",
        )
    return prop


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
    )


def store_and_queue(messages: Messages, queue: SendJobs, message: Message, now: float) -> Message:
    """Store the message and queue it. Idempotent for one MessageSid: a second call finds
    the stored message and queues it again, which the sender's claim makes harmless."""
    if not messages.create(
        message, wait_in_table=waits_in_table(int(message.deliver_at or 0), int(now))
    ):
        stored = messages.get(message.message_sid, consistent=True)
        assert stored is not None
        message = stored
    if message.status in (QUEUED, SCHEDULED):
        delay = int(message.deliver_at or 0) - int(now)
        if not waits_in_table(int(message.deliver_at or 0), int(now)):
            try:
                queue.enqueue(message.message_sid, delay)
            except Exception:
                # The caller gets a 500; the stored message must not wait forever for a
                # job that was never queued.
                messages.transition(
                    message.message_sid,
                    FAILED,
                    {
                        "Status": FAILED,
                        "Timestamp": iso_from_epoch(now),
                        "Detail": explanations.NOT_QUEUED,
                    },
                    set_attributes={
                        "ErrorCode": ErrorCode.INTERNAL_ERROR.number,
                        "ErrorMessage": explanations.NOT_QUEUED,
                        "DateFinal": iso_from_epoch(now),
                    },
                )
                raise
        # A later message waits in the table; the scheduler queues it (kernel/scheduling.py).
    return message


def accept(
    body: Any,
    *,
    prop: Property,
    message_sid: str,
    messages: Messages,
    queue: SendJobs,
    limits: SendLimits,
    now: float | None = None,
) -> Message:
    """Validate a send request, store the message and queue it."""
    now = time.time() if now is None else now
    request = parse_send_request(
        body,
        now=int(now),
        max_text_characters=limits.max_text_characters,
        allowed_webhook_networks=limits.allowed_webhook_networks,
    )
    return store_and_queue(
        messages, queue, build_message(request, prop, message_sid, now, "api"), now
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


def cancel(messages: Messages, prop: Property, message_sid: str, now: float) -> Message:
    """Cancel a scheduled or queued message of this property. The sender's claim never
    takes a cancelled message, even one whose job is already on the queue."""
    found = messages.get(message_sid) if is_well_formed(message_sid) else None
    if found is None or found.property_sid != prop.property_sid:
        raise NotFoundError(
            ErrorCode.MESSAGE_NOT_FOUND,
            f"No message {message_sid} in this property.",
            "MessageSid",
        )
    stamp = iso_from_epoch(now)
    cancelled = messages.transition(
        message_sid,
        CANCELLED,
        {"Status": CANCELLED, "Timestamp": stamp},
        set_attributes={"DateFinal": stamp},
        remove_attributes=("GSI3PK", "GSI3SK"),
    )
    if cancelled is None:
        current = messages.get(message_sid, consistent=True)
        raise ConflictError(
            ErrorCode.MESSAGE_NOT_CANCELLABLE,
            f"The message is {current.status if current else 'gone'}; only a scheduled or "
            "queued message can be cancelled.",
            "MessageSid",
        )
    return cancelled
