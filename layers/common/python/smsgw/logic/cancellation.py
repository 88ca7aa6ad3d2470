"""Cancelling a scheduled or queued message."""

from __future__ import annotations

from smsgw.errors import ConflictError, ErrorCode
from smsgw.kernel.scheduling import WAITING_KEYS
from smsgw.logic.ports import Messages
from smsgw.logic.tenancy import owned_message
from smsgw.models.message import CANCELLED, Message, iso_from_epoch
from smsgw.models.tenant import Property


def cancel(messages: Messages, prop: Property, message_sid: str, now: float) -> Message:
    """Cancel a scheduled or queued message of this property. The sender's claim never
    takes a cancelled message, even one whose job is already on the queue."""
    owned_message(messages, prop, message_sid)  # a 404 unless it is this property's
    stamp = iso_from_epoch(now)
    cancelled = messages.transition(
        message_sid,
        CANCELLED,
        {"Status": CANCELLED, "Timestamp": stamp},
        set_attributes={"DateFinal": stamp},
        remove_attributes=WAITING_KEYS,
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
