"""Throughput limits per carrier and per sender number (smsgw.logic.rate_limits).

Keys (see docs/data-model.md):
  limit  PK=RATE  SK=<carrier> or <carrier>#<sender>
         Carrier, Sender (a sender's limit), Rate (messages a second), DateUpdated: the
         operator's; Next (Unix ms, the next free turn): the senders'
All of them are one Query of one partition; a warm sender reads them at most once per
`cache_seconds`, as it reads the routes. A turn is booked by one atomic UpdateItem of
`Next`: `ADD` when the limit is busy (no two senders get the same turn), `SET` when it
has been idle, each conditional on which of the two holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed, delete_existing
from smsgw.dal.paging import query_items
from smsgw.dal.timed_value import TimedValue
from smsgw.errors import ErrorCode, NotFoundError

PARTITION = "RATE"
BOOKING_ATTEMPTS = 5
"""Each attempt that fails met a write of the other kind (idle ↔ busy) in between."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    carrier: str
    sender: str | None
    rate: float
    """Messages a second."""
    date_updated: str = ""

    @property
    def key(self) -> str:
        return f"{self.carrier}#{self.sender}" if self.sender else self.carrier


class RateStore:
    def __init__(
        self,
        table: Any,
        *,
        cache_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`cache_seconds` keeps the limits that long for `current` (the sender's reads);
        `list` (the admin CLI) always reads the table."""
        self._table = table
        self._current = TimedValue(self._read_current, cache_seconds, clock)
        self._idle: dict[str, bool] = {}

    def put(self, limit: RateLimit, updated: str) -> RateLimit:
        """Set (or change) a limit; its booked turns stay."""
        names = {"#t": "Type", "#r": "Rate"}
        values: dict[str, Any] = {
            ":type": "RateLimit",
            ":carrier": limit.carrier,
            ":rate": Decimal(str(limit.rate)),
            ":updated": updated,
        }
        expression = "SET #t = :type, Carrier = :carrier, #r = :rate, DateUpdated = :updated"
        if limit.sender:
            expression += ", Sender = :sender"
            values[":sender"] = limit.sender
        self._table.update_item(
            Key=_key(limit.key),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return RateLimit(limit.carrier, limit.sender, limit.rate, updated)

    def remove(self, carrier: str, sender: str | None) -> RateLimit:
        """Delete a limit. Raises NotFoundError when there is none."""
        key = f"{carrier}#{sender}" if sender else carrier
        removed = delete_existing(self._table, _key(key), "Rate")
        if removed is None:
            raise NotFoundError(
                ErrorCode.RATE_LIMIT_NOT_FOUND, f"No rate limit is set for {key}.", "Carrier"
            )
        return _limit(removed)

    def list(self, *, consistent: bool = True) -> list[RateLimit]:
        """Every limit, by carrier then sender."""
        items = query_items(
            self._table, KeyConditionExpression=Key("PK").eq(PARTITION), ConsistentRead=consistent
        )
        return [_limit(item) for item in items if "Rate" in item]

    def current(self) -> dict[str, float]:
        """Limit key → messages a second, as read at most `cache_seconds` ago."""
        return self._current.get()

    def _read_current(self) -> dict[str, float]:
        # eventually consistent (half the read): a change already waits up to a minute
        return {limit.key: limit.rate for limit in self.list(consistent=False)}

    def reserve(self, key: str, interval_ms: int, not_before_ms: int) -> int | None:
        # the kind of write that worked last for this limit is tried first: under a
        # backlog a turn costs one write, not a failed one and then another
        idle = self._idle.get(key, True)
        for _ in range(BOOKING_ATTEMPTS):
            booked = (self._start if idle else self._follow)(key, interval_ms, not_before_ms)
            if booked is None:
                idle = not idle
                continue
            self._idle[key] = idle
            return booked if booked >= 0 else None
        raise RuntimeError(f"no turn could be booked for {key}")

    def _follow(self, key: str, interval_ms: int, not_before_ms: int) -> int | None:
        """A busy limit: the turn after the last booked one. None when it is idle."""
        try:
            answer = self._table.update_item(
                Key=_key(key),
                UpdateExpression="ADD #n :interval",
                ConditionExpression="#n >= :not_before",
                ExpressionAttributeNames={"#n": "Next"},
                ExpressionAttributeValues={
                    ":interval": interval_ms,
                    ":not_before": not_before_ms,
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return int(answer["Attributes"]["Next"]) - interval_ms

    def _start(self, key: str, interval_ms: int, not_before_ms: int) -> int | None:
        """An idle limit: the turn at `not_before_ms`. None when it is busy; -1 when the
        limit is gone (removed since it was read)."""
        try:
            self._table.update_item(
                Key=_key(key),
                UpdateExpression="SET #n = :next",
                ConditionExpression="attribute_exists(#r) AND "
                "(attribute_not_exists(#n) OR #n < :not_before)",
                ExpressionAttributeNames={"#n": "Next", "#r": "Rate"},
                ExpressionAttributeValues={
                    ":next": not_before_ms + interval_ms,
                    ":not_before": not_before_ms,
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return None if "Rate" in (exc.response.get("Item") or {}) else -1
        return not_before_ms


def _key(sort_key: str) -> dict[str, str]:
    return {"PK": PARTITION, "SK": sort_key}


def _limit(item: dict[str, Any]) -> RateLimit:
    return RateLimit(
        carrier=item.get("Carrier", item["SK"].split("#")[0]),
        sender=item.get("Sender") or None,
        rate=float(item["Rate"]),
        date_updated=item.get("DateUpdated", ""),
    )
