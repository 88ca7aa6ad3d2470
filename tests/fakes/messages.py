"""In-memory stand-ins for `smsgw.dal.message_store` (MessageStore, ClaimStore) and
`smsgw.dal.schedule_store` (ScheduleStore).

They share one dict of message items, as the real stores share one table. A message is
kept as its stored attributes (`Message.to_attributes()`, events in their compact form)
plus the sender's bookkeeping (`SubmitState`, `ClaimedAt`, `SubmitAttempts`), and is read
back through `Message.from_attributes`, as the real store reads an item. The sparse GSI3
entry of a message (waiting in the table, or unsettled) is one optional `(kind, number)`
pair per message: like the item's GSI3PK/GSI3SK, a message is in at most one of the two.

Every method applies its condition and its change in one step, as DynamoDB applies one
conditional update; a refused condition is an answer (None or False), never an exception.
Held honest by `tests/contract/test_message_store_contract.py` and
`tests/contract/test_schedule_store_contract.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from smsgw.kernel.scheduling import bucket_of, recovery_time, shard_of
from smsgw.models.message import (
    ALLOWED_FROM,
    QUEUED,
    RECEIPT_MOVED,
    SCHEDULED,
    SENDING,
    SENT,
    Message,
)
from smsgw.models.message import stored_event as _stored_event
from smsgw.models.send_job import ClaimAttempt

SUBMIT_CLAIMED = "claimed"
SUBMIT_RETRYABLE = "retryable"
SUBMIT_UNKNOWN = "unknown"
SUBMIT_DONE = "done"

WAITING = "waiting"
UNSETTLED = "unsettled"


class FakeMessageStore:
    """MessageStore and ClaimStore: create, read, forward-only transitions, the sender's
    claim and its outcome, and the unsettled index that reconciliation reads."""

    def __init__(self) -> None:
        self.failing = False
        """When True, `create` raises, as DynamoDB unavailable would."""
        self.items: dict[str, dict[str, Any]] = {}
        self.index: dict[str, tuple[str, int]] = {}
        """MessageSid -> (WAITING, DeliverAt) or (UNSETTLED, ClaimedAt): the GSI3 entry."""
        self.waiting_bucket_time: dict[str, int] = {}
        """MessageSid -> the time whose bucket holds its WAITING entry: DeliverAt, or the
        later recovery time of a message queued on SendQueue."""

    # --- MessageStore -------------------------------------------------------------------

    def create(self, message: Message, *, wait_in_table: bool = False) -> bool:
        if self.failing:
            raise RuntimeError("the message store is unavailable")
        sid = message.message_sid
        if sid in self.items:
            return False
        self.items[sid] = copy.deepcopy(message.to_attributes())
        if message.status in (QUEUED, SCHEDULED) and message.deliver_at is not None:
            deliver_at = int(message.deliver_at)
            self.index[sid] = (WAITING, deliver_at)
            self.waiting_bucket_time[sid] = (
                deliver_at if wait_in_table else recovery_time(deliver_at)
            )
        return True

    def get(self, message_sid: str, *, consistent: bool = False) -> Message | None:
        item = self.items.get(message_sid)
        return self._message(message_sid) if item is not None else None

    def transition(
        self,
        message_sid: str,
        status: str,
        event: dict[str, Any],
        *,
        allowed_from: tuple[str, ...] | None = None,
        set_attributes: dict[str, Any] | None = None,
        remove_attributes: tuple[str, ...] = (),
    ) -> Message | None:
        allowed = allowed_from if allowed_from is not None else ALLOWED_FROM[status]
        item = self.items.get(message_sid)
        if item is None or item.get("Status") not in allowed:
            return None
        item["Status"] = status
        self._append(item, event)
        item.update(copy.deepcopy(set_attributes or {}))
        for name in remove_attributes:
            if name in ("GSI3PK", "GSI3SK"):
                self.index.pop(message_sid, None)
            item.pop(name, None)
        return self._message(message_sid)

    def redact(
        self, message_sid: str, event: dict[str, Any], final: tuple[str, ...]
    ) -> Message | None:
        item = self.items.get(message_sid)
        if item is None or item.get("Status") not in final or item.get("Redacted"):
            return None
        item["Redacted"] = True
        self._append(item, event)
        item.pop("Text", None)
        item.pop("ResponseOptions", None)
        return self._message(message_sid)

    # --- ClaimStore ---------------------------------------------------------------------

    def claim(
        self, message_sid: str, event: dict[str, Any], now: int, *, due_by: int
    ) -> ClaimAttempt:
        item = self.items.get(message_sid)
        if item is None:
            return ClaimAttempt(None)
        status, state = item.get("Status"), item.get("SubmitState")
        due = item.get("DeliverAt") is None or item["DeliverAt"] <= due_by
        if not due or not (
            status in (QUEUED, SCHEDULED) or (status == SENDING and state == SUBMIT_RETRYABLE)
        ):
            return ClaimAttempt(None, self._message(message_sid), state)
        item["Status"] = SENDING
        item["SubmitState"] = SUBMIT_CLAIMED
        item["ClaimedAt"] = now
        item["SubmitAttempts"] = item.get("SubmitAttempts", 0) + 1
        item.pop("Carrier", None)
        self._append(item, event)
        self.index.pop(message_sid, None)  # out of the waiting room
        return ClaimAttempt(self._message(message_sid))

    def settle_claim(
        self,
        message_sid: str,
        submit_state: str,
        event: dict[str, Any],
        *,
        status: str | None = None,
        set_attributes: dict[str, Any] | None = None,
        now: int = 0,
    ) -> bool:
        item = self.items.get(message_sid)
        if item is None or not _is_claim(item, (SUBMIT_CLAIMED,)):
            return False
        item["SubmitState"] = submit_state
        self._append(item, event)
        if status:
            item["Status"] = status
        item.update(copy.deepcopy(set_attributes or {}))
        if submit_state == SUBMIT_UNKNOWN:
            self.index[message_sid] = (UNSETTLED, now)
        return True

    def record_accepted(self, message_sid: str, set_attributes: dict[str, Any]) -> bool:
        item = self.items.get(message_sid)
        if (
            item is None
            or item.get("SubmitState") != SUBMIT_CLAIMED
            or item.get("Status") not in RECEIPT_MOVED
        ):
            return False
        item["SubmitState"] = SUBMIT_DONE
        item.update(copy.deepcopy(set_attributes))
        return True

    def get_submit_state(self, message_sid: str) -> tuple[Message, str | None] | None:
        item = self.items.get(message_sid)
        if item is None:
            return None
        return self._message(message_sid), item.get("SubmitState")

    def index_stale_claim(self, message_sid: str, claimed_at: int) -> bool:
        item = self.items.get(message_sid)
        if (
            item is None
            or not _is_claim(item, (SUBMIT_CLAIMED,))
            or item.get("ClaimedAt") != claimed_at
            or message_sid in self.index
        ):
            return False
        self.index[message_sid] = (UNSETTLED, claimed_at)
        return True

    def unsettled(self, shard: int, claimed_before: int) -> Iterator[tuple[str, int]]:
        entries = sorted(
            (at, sid)
            for sid, (kind, at) in self.index.items()
            if kind == UNSETTLED and shard_of(sid) == shard and at < claimed_before
        )
        for at, sid in entries:
            yield sid, at

    def reconciled(
        self, message_sid: str, event: dict[str, Any], set_attributes: dict[str, Any]
    ) -> bool:
        item = self.items.get(message_sid)
        if item is None or not _is_claim(item, (SUBMIT_UNKNOWN, SUBMIT_CLAIMED)):
            return False
        item["Status"] = SENT
        item["SubmitState"] = SUBMIT_DONE
        self._append(item, event)
        item.update(copy.deepcopy(set_attributes))
        self.index.pop(message_sid, None)
        return True

    def forget_unsettled(self, message_sid: str, event: dict[str, Any] | None = None) -> None:
        if self.index.get(message_sid, ("", 0))[0] != UNSETTLED:
            return
        del self.index[message_sid]
        if event is not None:
            self._append(self.items[message_sid], event)

    # --- what a test may look at --------------------------------------------------------

    def submit_attempts(self, message_sid: str) -> int:
        return int(self.items[message_sid].get("SubmitAttempts", 0))

    def is_unsettled(self, message_sid: str) -> bool:
        return self.index.get(message_sid, ("", 0))[0] == UNSETTLED

    def is_waiting(self, message_sid: str) -> bool:
        return self.index.get(message_sid, ("", 0))[0] == WAITING

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _append(item: dict[str, Any], event: dict[str, Any]) -> None:
        item.setdefault("Events", []).append(_stored_event(copy.deepcopy(event)))

    def _message(self, message_sid: str) -> Message:
        return Message.from_attributes(
            {**copy.deepcopy(self.items[message_sid]), "MessageSid": message_sid}
        )


FakeClaimStore = FakeMessageStore
"""The sender's name for the same store (`ClaimStore` extends `MessageStore`)."""


def _is_claim(item: dict[str, Any], states: tuple[str, ...]) -> bool:
    return item.get("Status") == SENDING and item.get("SubmitState") in states


class FakeScheduleStore:
    """ScheduleStore: the messages waiting in the table (read from the message store's
    index) and the scheduler's cursor with its lease."""

    def __init__(self, messages: FakeMessageStore, created_at: int = 0) -> None:
        self._messages = messages
        self.cursor: dict[str, Any] = {}
        self.created = created_at

    def created_at(self) -> int:
        return self.created

    def waiting(self, bucket: int, shard: int) -> Iterator[tuple[str, int]]:
        entries = sorted(
            (at, sid)
            for sid, (kind, at) in list(self._messages.index.items())
            if kind == WAITING
            and bucket_of(self._messages.waiting_bucket_time[sid]) == bucket
            and shard_of(sid) == shard
        )
        for at, sid in entries:
            yield sid, at

    def acquire(self, owner: str, now: int, lease_seconds: int, first: int) -> int | None:
        until = self.cursor.get("LeaseUntil")
        if until is not None and not until < now:
            return None
        self.cursor["LeaseUntil"] = now + lease_seconds
        self.cursor["Owner"] = owner
        self.cursor.setdefault("Bucket", first)
        return int(self.cursor["Bucket"])

    def advance(self, owner: str, bucket: int) -> bool:
        if self.cursor.get("Owner") != owner:
            return False
        self.cursor["Bucket"] = bucket
        return True

    def release(self, owner: str) -> None:
        if self.cursor.get("Owner") == owner:
            self.cursor.pop("LeaseUntil", None)
            self.cursor.pop("Owner", None)
