"""Retention: a property's message and reply text removed a number of days after each
message was created, by the scheduler, or the messages themselves deleted with their
replies if the property says so; a reply that arrived after its message's went is
removed the same number of days after it arrived (docs/decisions.md, "Retention")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from smsgw.logic.ports import Messages
from smsgw.logic.redaction import RedactedReplies, remove_text
from smsgw.models.message import (
    FINAL_STATUSES,
    SENDING,
    SENT,
    STATUSES,
    Message,
    iso_from_epoch,
)
from smsgw.models.tenant import Retaining

RETENTION_SOURCE = "retention"
"""The `Source` of the event that records the text's removal at the end of retention."""

DAY = 86400
PAGE = 100
"""Messages read per property and pass: a pass stays short, the next goes on."""
BUDGET = 1000
"""Messages read per pass in all, so that a pass ends well within the scheduler's
timeout however many properties have a backlog; each pass starts at another property."""
STUCK_SENDING_SECONDS = 15 * DAY
"""A `sending` message this far past its retention is not waiting for a retry or for
reconciliation any more (those end within hours): its text goes too."""

_SETTLED = tuple(s for s in STATUSES if s in FINAL_STATUSES or s == SENT)


class RetentionStoreLike(Protocol):
    """Properties with a retention period and their timelines (dal.retention_store)."""

    def retaining(self) -> Iterator[Retaining]: ...
    def created_between(
        self, property_sid: str, after: str, before: str, limit: int
    ) -> list[tuple[str, Message]]: ...
    def advance(self, property_sid: str, cursor: str) -> None: ...
    def delete_message(self, message: Message, allowed: tuple[str, ...]) -> bool: ...


class RetainedReplies(RedactedReplies, Protocol):
    """The replies a message routed, redacted or deleted, and the replies listed for
    retention by their own arrival (dal.reply_store.ReplyStore)."""

    def delete_for_message(self, lease_id: str, since: str, message_sid: str) -> int: ...
    def retained_before(
        self, property_sid: str, before: str, limit: int
    ) -> list[tuple[str, str]]: ...
    def expire(self, partition: str, sort_key: str, *, delete: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class RetentionResult:
    properties: int = 0
    removed: int = 0
    """Messages whose text was removed."""
    deleted: int = 0
    """Messages deleted (a property whose retention deletes messages)."""
    late_replies: int = 0
    """Replies that arrived after their message's pass, their text removed (or deleted)
    the property's period after they arrived."""


def expire_text(
    store: RetentionStoreLike,
    messages: Messages,
    replies: RetainedReplies,
    now: float,
    page: int = PAGE,
    budget: int = BUDGET,
) -> RetentionResult:
    """Remove the text (and replies' text and response options) of each retaining
    property's messages created more than its retention period ago, as a redaction does,
    with an event of Source `retention`; metadata and status history stay. A property
    whose retention deletes messages has each such message deleted instead, with the
    replies it routed and the items that are its alone (replies first, the message last,
    so that a pass stopped halfway finds it again). A message still to be sent
    (scheduled, queued, or sending) keeps its text and holds the property's cursor until
    it is sent, so that nothing behind it is passed over. Then the property's replies that
    arrived after their message's pass, and the period ago, go the same way."""
    properties = removed = deleted = late = 0
    retaining = list(store.retaining())
    start = int(now // 60) % len(retaining) if retaining else 0
    for property_sid, days, cursor, deletes in retaining[start:] + retaining[:start]:
        if budget <= 0:
            break
        properties += 1
        cutoff = iso_from_epoch(now - days * DAY)
        stuck_before = iso_from_epoch(now - days * DAY - STUCK_SENDING_SECONDS)
        advanced = cursor
        found = store.created_between(property_sid, cursor, cutoff, min(page, budget))
        budget -= len(found)
        for position, message in found:
            allowed = _SETTLED + ((SENDING,) if message.date_created < stuck_before else ())
            if message.status not in allowed:
                break  # still to be sent: it needs its text; the cursor waits for it
            if deletes:
                deleted += _delete(store, replies, message, allowed)
            elif (
                remove_text(messages, replies, message, allowed, RETENTION_SOURCE, now) is not None
            ):
                removed += 1
            advanced = position
        if advanced != cursor:
            store.advance(property_sid, advanced)
        if budget > 0:
            listed = replies.retained_before(property_sid, cutoff, min(page, budget))
            budget -= len(listed)
            late += sum(replies.expire(*key, delete=deletes) for key in listed)
    return RetentionResult(properties, removed, deleted, late)


def _delete(
    store: RetentionStoreLike, replies: RetainedReplies, message: Message, allowed: tuple[str, ...]
) -> int:
    """Delete `message` and the replies it routed; 1 if it was deleted now."""
    if message.lease:
        replies.delete_for_message(
            message.lease["LeaseId"], message.date_created, message.message_sid
        )
    return int(store.delete_message(message, allowed))
