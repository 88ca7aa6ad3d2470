"""In-memory stand-in for `smsgw.dal.reply_store.ReplyStore` (the `ReplyStoreLike` and
`ForwardClaims` ports).

A reply is stored once per carrier message: the first `store` writes it with its inbound
marker (and the forwards it is to be forwarded by), a repeat (the carrier retrying its
callback) stores nothing and answers False. `inserted` is what the table's stream would
carry: each stored reply's item. A
forward is claimed at most once; `release_forward` (the provider refused: nothing was
sent) allows a new claim, `settle_forward` never does. An SMS forward recorded is known by
its sender, recipient and text until it expires. A reply stored `retained` is listed for
its property's retention pass until its text is removed or it is deleted.
Held honest by `tests/contract/test_reply_store_contract.py`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from smsgw.models.lease import FORWARDS, Reply, forwards_attribute

FORWARD_SENDING = "sending"
FORWARD_DONE = "done"


class FakeReplyStore:
    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        """The reply partition (the lease, or the number when unmatched) -> its replies."""
        self.markers: dict[tuple[str, str], dict[str, str]] = {}
        """(carrier, carrier sid) -> {ReplySid, ReceivedAt}: the once-only marker."""
        self.forwards: dict[tuple[str, str], dict[str, Any]] = {}
        """(ReplySid, kind) -> {State, Detail}: the forward claims."""
        self.sms_forwards: dict[tuple[str, str, str], int] = {}
        """(sender, to, text) -> ExpiresAt: the SMS forwards sent."""
        self.retained: dict[tuple[str, str], str] = {}
        """(partition key, sort key) -> PropertySid of each reply listed for retention."""
        self.inserted: list[tuple[str, dict[str, Any]]] = []
        """(partition key, item) of each reply stored, in order: the stream's inserts."""
        self._streamed = 0

    def store(
        self,
        reply: Reply,
        now: float,
        forwards: dict[str, str] | None = None,
        *,
        retained: bool = False,
    ) -> bool:
        marker = (reply.carrier, reply.carrier_sid)
        if marker in self.markers:
            return False
        self.markers[marker] = {"ReplySid": reply.reply_sid, "ReceivedAt": reply.received_at}
        self.replies.setdefault(_partition(reply), []).append(reply)
        item = reply.to_item()
        if forwards:
            item[FORWARDS] = forwards_attribute(forwards)
        self.inserted.append((f"LEASEREPLIES#{_partition(reply)}", item))
        if retained and reply.property_sid:
            self.retained[_key(reply)] = reply.property_sid
        return True

    def for_lease(
        self,
        lease_id: str,
        since: str,
        *,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> tuple[list[Reply], str | None]:
        """Oldest first (the sort key is `<ReceivedAt>#<ReplySid>`); the token is opaque.
        `since` may not be empty (a key condition on an empty string is invalid)."""
        if not since:
            raise ValueError("since must be a time")
        ordered = sorted(
            (f"{r.received_at}#{r.reply_sid}", r) for r in self.replies.get(lease_id, [])
        )
        after = page_token or ""
        page = [(key, r) for key, r in ordered if key >= since and key > after][:page_size]
        more = len(page) == page_size and any(key > page[-1][0] for key, _ in ordered)
        return [r for _, r in page], page[-1][0] if page and more else None

    def delete_for_message(self, lease_id: str, since: str, message_sid: str) -> int:
        """The lease's replies from `since` that `message_sid` routed are deleted."""
        kept = self.replies.get(lease_id, [])
        gone = [
            r
            for r in kept
            if f"{r.received_at}#{r.reply_sid}" >= since and r.message_sid == message_sid
        ]
        self.replies[lease_id] = [r for r in kept if r not in gone]
        for reply in gone:
            self.retained.pop(_key(reply), None)
        return len(gone)

    def redact_for_message(self, lease_id: str, since: str, message_sid: str) -> int:
        """The lease's replies from `since` that `message_sid` routed lose their text."""
        redacted = 0
        kept = self.replies.get(lease_id, [])
        for index, reply in enumerate(kept):
            key = f"{reply.received_at}#{reply.reply_sid}"
            if key >= since and reply.message_sid == message_sid and not reply.redacted:
                kept[index] = dataclasses.replace(reply, text=None, redacted=True)
                self.retained.pop(_key(reply), None)
                redacted += 1
        return redacted

    def retained_before(self, property_sid: str, before: str, limit: int) -> list[tuple[str, str]]:
        listed = sorted(
            (sort_key, partition)
            for (partition, sort_key), owner in self.retained.items()
            if owner == property_sid and sort_key < before
        )
        return [(partition, sort_key) for sort_key, partition in listed[:limit]]

    def expire(self, partition: str, sort_key: str, *, delete: bool) -> bool:
        self.retained.pop((partition, sort_key), None)
        kept = self.replies.get(partition.removeprefix("LEASEREPLIES#"), [])
        for index, reply in enumerate(kept):
            if f"{reply.received_at}#{reply.reply_sid}" != sort_key:
                continue
            if delete:
                del kept[index]
                return True
            if reply.redacted:
                return False
            kept[index] = dataclasses.replace(reply, text=None, redacted=True)
            return True
        return False

    def claim_forward(self, reply_sid: str, kind: str, now: float) -> bool:
        if (reply_sid, kind) in self.forwards:
            return False
        self.forwards[(reply_sid, kind)] = {"State": FORWARD_SENDING}
        return True

    def settle_forward(self, reply_sid: str, kind: str, detail: str) -> None:
        self.forwards[(reply_sid, kind)] = {"State": FORWARD_DONE, "Detail": detail[:500]}

    def release_forward(self, reply_sid: str, kind: str) -> None:
        self.forwards.pop((reply_sid, kind), None)

    def record_sms_forward(
        self, sender: str, to: str, text: str, message_sid: str, expires_at: int
    ) -> None:
        self.sms_forwards[(sender, to, text)] = expires_at

    def is_sms_forward(self, sender: str, to: str, text: str, now: float) -> bool:
        return self.sms_forwards.get((sender, to, text), 0) > now

    # --- what a test may look at --------------------------------------------------------

    def stream_inserts(self) -> list[tuple[str, dict[str, Any]]]:
        """The replies stored since the last call, as (partition key, item): what the
        table's stream hands the notifier."""
        new, self._streamed = self.inserted[self._streamed :], len(self.inserted)
        return new

    def all_replies(self) -> list[Reply]:
        return [reply for replies in self.replies.values() for reply in replies]


def _partition(reply: Reply) -> str:
    return reply.lease_id or f"UNMATCHED#{reply.number}"


def _key(reply: Reply) -> tuple[str, str]:
    return f"LEASEREPLIES#{_partition(reply)}", f"{reply.received_at}#{reply.reply_sid}"
