"""Throughput limits per carrier and per sender number (smsgw.logic.rate_limits).

Keys (see docs/data-model.md):
  limit  PK=RATE  SK=<carrier> or <carrier>#<sender>
         Carrier, Sender (a sender's limit), Rate (messages a second), DateUpdated: the
         operator's; Next (Unix ms, the next actual turn not yet taken) and Booked (Unix
         ms, the tail of the line of jobs waiting in the queue for turns): the senders'
All of them are one Query of one partition; a warm sender reads them at most once per
`cache_seconds`, as it reads the routes. A turn is taken by one atomic UpdateItem of
`Next`: `ADD` when the limit is busy (no two senders get the same turn), `SET` when it
has been idle, each conditional on which of the two holds. A sender whose next turn is
too far to wait for in its invocation joins the line instead: one atomic UpdateItem of
`Booked` (`ADD`, or `SET Booked = Next + interval` when the line is empty), conditional
on `Next` being that far, which estimates when its turn may come without taking one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed, delete_existing
from smsgw.dal.settings_partition import SettingsPartition
from smsgw.errors import ErrorCode, NotFoundError

PARTITION = "RATE"
BOOKING_ATTEMPTS = 5
"""Each attempt that fails met a write of another kind in between (or tried the one that
worked last, for a limit that has changed state since)."""


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


class RateStore(SettingsPartition[dict[str, float]]):
    """`current`: limit key → messages a second."""

    partition = PARTITION

    def __init__(
        self,
        table: Any,
        *,
        cache_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(table, cache_seconds=cache_seconds, clock=clock)
        self._seen: dict[str, tuple[int | None, int | None]] = {}
        """Limit key → its `Next` and `Booked` as this process's last write left them."""

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
        return [_limit(item) for item in self._items(consistent=consistent) if "Rate" in item]

    def _read_current(self) -> dict[str, float]:
        # eventually consistent (half the read): a change already waits up to a minute
        return {limit.key: limit.rate for limit in self.list(consistent=False)}

    def turn(
        self, key: str, interval_ms: int, now_ms: int, latest_ms: int | None = None
    ) -> tuple[int, bool] | None:
        """(the next actual turn, True) when it is at or before `latest_ms` (any time when
        None), booked; else (a place behind the line waiting for turns, False), booked:
        the line's tail moves one interval, `Next` does not. None when `key` has no limit.

        One UpdateItem of four kinds, each conditional on the state it applies to. The
        kind tried first is the one that applies to the limit as this process last saw
        it (each write answers with the item); a refused one answers with the item as it
        stands, which tells the kind that applies (one write a booking under a
        backlog)."""
        next_ms, booked = self._seen.get(key, (None, None))
        kind = _kind_for(next_ms, booked, now_ms, latest_ms)
        for _ in range(BOOKING_ATTEMPTS):
            try:
                answer = self._table.update_item(
                    Key=_key(key),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **_write(kind, interval_ms, now_ms, latest_ms),
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                item = exc.response.get("Item") or {}
                if "Rate" not in item:
                    return None  # removed since it was read
                kind = _kind_for(
                    _number(item.get("Next")), _number(item.get("Booked")), now_ms, latest_ms
                )
                continue
            new = answer["Attributes"]
            self._seen[key] = (_number(new.get("Next")), _number(new.get("Booked")))
            if kind == _START:
                return now_ms, True
            if kind == _FOLLOW:
                return int(new["Next"]) - interval_ms, True
            return int(new["Booked"]) - interval_ms, False
        raise RuntimeError(f"no turn could be booked for {key}")


_START, _FOLLOW, _BEHIND, _LINE = "start", "follow", "behind", "line"
_NAMES = {"#n": "Next", "#b": "Booked", "#r": "Rate"}


def _kind_for(next_ms: int | None, booked: int | None, now_ms: int, latest_ms: int | None) -> str:
    """The write that applies to a limit in this state."""
    if next_ms is None or next_ms < now_ms:
        return _START  # idle: the turn is now
    if latest_ms is None or next_ms <= latest_ms:
        return _FOLLOW  # busy: the turn after the last one taken
    return _BEHIND if booked is not None and booked >= next_ms else _LINE


def _write(kind: str, interval_ms: int, now_ms: int, latest_ms: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {":i": interval_ms, ":now": now_ms}
    if kind == _START:
        expression = "SET #n = :start"
        condition = "attribute_exists(#r) AND (attribute_not_exists(#n) OR #n < :now)"
        values[":start"] = now_ms + interval_ms
    elif kind == _FOLLOW:
        expression = "ADD #n :i"
        condition = "#n >= :now" + ("" if latest_ms is None else " AND #n <= :latest")
    else:
        expression = "ADD #b :i" if kind == _BEHIND else "SET #b = #n + :i"
        condition = "#n > :latest AND " + (
            "#b >= #n" if kind == _BEHIND else "(attribute_not_exists(#b) OR #b < #n)"
        )
    if latest_ms is not None and kind != _START:
        values[":latest"] = latest_ms
    names = {k: v for k, v in _NAMES.items() if k in expression or k in condition}
    return {
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {
            k: v for k, v in values.items() if k in expression or k in condition
        },
    }


def _number(value: Any) -> int | None:
    """A number of the item a refused write answers with (in AttributeValue form)."""
    if isinstance(value, dict):
        value = value.get("N")
    return None if value is None else int(value)


def _key(sort_key: str) -> dict[str, str]:
    return {"PK": PARTITION, "SK": sort_key}


def _limit(item: dict[str, Any]) -> RateLimit:
    return RateLimit(
        carrier=item.get("Carrier", item["SK"].split("#")[0]),
        sender=item.get("Sender") or None,
        rate=float(item["Rate"]),
        date_updated=item.get("DateUpdated", ""),
    )
