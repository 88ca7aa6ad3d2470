"""Redacting a message on request: its text, its replies' text and its response options."""

from __future__ import annotations

from typing import Protocol

from smsgw.errors import ConflictError, ErrorCode
from smsgw.logic.ports import Messages
from smsgw.logic.tenancy import owned_message
from smsgw.models.message import FINAL_STATUSES, STATUSES, Message, iso_from_epoch
from smsgw.models.tenant import Property

REDACTION_SOURCE = "redaction"
"""The `Source` of the event that records a redaction (its `Status` is the message's own)."""

_FINAL = tuple(status for status in STATUSES if status in FINAL_STATUSES)


class RedactedReplies(Protocol):
    """The replies a message routed (dal.reply_store.ReplyStore)."""

    def redact_for_message(self, lease_id: str, since: str, message_sid: str) -> int: ...


def redact(
    messages: Messages,
    replies: RedactedReplies,
    prop: Property,
    message_sid: str,
    now: float,
) -> Message:
    """Remove the text of a final message of this property, the text and forwards of the
    replies it routed, and its response options; record when in its events. Idempotent:
    a message redacted before is answered as it is (its replies are swept again, for one
    that arrived since). The replies go first, so a message that shows `Redacted` has
    none left with text from before; its status never changes (docs/decisions.md)."""
    found = owned_message(messages, prop, message_sid)
    if found.status not in FINAL_STATUSES:
        found = messages.get(message_sid, consistent=True) or found
        if found.status not in FINAL_STATUSES:
            raise _not_final(found.status)
    redacted = remove_text(messages, replies, found, _FINAL, REDACTION_SOURCE, now)
    if redacted is not None:
        return redacted
    if found.redacted:
        return found
    # Redacted meanwhile by another call; a final status never changes.
    current = messages.get(message_sid, consistent=True)
    if current is None or not current.redacted:
        raise _not_final(current.status if current else "gone")
    return current


def remove_text(
    messages: Messages,
    replies: RedactedReplies,
    message: Message,
    allowed: tuple[str, ...],
    source: str,
    now: float,
) -> Message | None:
    """Remove the text of the replies `message` routed, then its own text and response
    options, with an event of this `source` (redaction or retention), if its status is
    still one of `allowed`. The message as redacted; None if it was redacted before or its
    status moved on (the replies are swept either way, for one that arrived since)."""
    if message.lease:
        replies.redact_for_message(
            message.lease["LeaseId"], message.date_created, message.message_sid
        )
    if message.redacted:
        return None
    event = {"Status": message.status, "Timestamp": iso_from_epoch(now), "Source": source}
    return messages.redact(message.message_sid, event, allowed)


def _not_final(status: str) -> ConflictError:
    return ConflictError(
        ErrorCode.MESSAGE_NOT_REDACTABLE,
        f"The message is {status}; only a message in a final status (delivered, "
        "undelivered, failed, cancelled or rejected) can be redacted. Try again once it "
        "is final.",
        "MessageSid",
    )
