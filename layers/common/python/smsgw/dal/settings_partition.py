"""A partition of operator settings the sender reads on every message (routes, rate
limits): the admin CLI writes and lists them, always from the table; a warm sender reads
them at most once per `cache_seconds`, one Query of the partition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Key

from smsgw.dal.paging import query_items
from smsgw.dal.timed_value import TimedValue


class SettingsPartition[T]:
    partition: str
    """The items' `PK`."""

    def __init__(
        self,
        table: Any,
        *,
        cache_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`cache_seconds` keeps what `current` read that long (the sender's reads); the
        admin CLI's `list` always reads the table."""
        self._table = table
        self._current = TimedValue(self._read_current, cache_seconds, clock)

    def current(self) -> T:
        """The settings as read at most `cache_seconds` ago."""
        return self._current.get()

    def _items(self, *, consistent: bool) -> list[dict[str, Any]]:
        return query_items(
            self._table,
            KeyConditionExpression=Key("PK").eq(self.partition),
            ConsistentRead=consistent,
        )

    def _read_current(self) -> T:
        raise NotImplementedError
