"""The carriers' circuit breakers (smsgw.logic.breaker), shared by every sender.

Keys (see docs/data-model.md):
  breaker  PK=BREAKER  SK=<carrier>             OpenUntil, ProbesLeft (only while open)
  window   PK=BREAKER  SK=<carrier>#<window>    Submissions, Failures, ExpiresAt (TTL)
A closed breaker has no item, or one without OpenUntil (closing removes it: the sender
may update items, not delete them); a window's counts are atomic ADDs, so concurrent
senders never overwrite each other's results.
"""

from __future__ import annotations

from typing import Any

from smsgw.dal.conditions import written
from smsgw.logic.breaker import BreakerState

PARTITION = "BREAKER"


def _key(sort_key: str) -> dict[str, str]:
    return {"PK": PARTITION, "SK": sort_key}


class BreakerStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def state(self, carrier: str) -> BreakerState | None:
        item = self._table.get_item(Key=_key(carrier), ConsistentRead=True).get("Item")
        if not item or "OpenUntil" not in item:
            return None
        return BreakerState(float(item["OpenUntil"]), int(item.get("ProbesLeft", 0)))

    def count(
        self, carrier: str, window: int, submissions: int, failures: int, expires_at: int
    ) -> tuple[int, int]:
        answer = self._table.update_item(
            Key=_key(f"{carrier}#{window}"),
            UpdateExpression="ADD Submissions :submitted, Failures :failed SET ExpiresAt = :e",
            ExpressionAttributeValues={
                ":submitted": submissions,
                ":failed": failures,
                ":e": expires_at,
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return int(answer["Submissions"]), int(answer.get("Failures", 0))

    def counts(self, carrier: str, window: int) -> tuple[int, int]:
        item = self._table.get_item(Key=_key(f"{carrier}#{window}")).get("Item") or {}
        return int(item.get("Submissions", 0)), int(item.get("Failures", 0))

    def open(self, carrier: str, open_until: int, probes: int) -> bool:
        return written(
            lambda: self._table.update_item(
                Key=_key(carrier),
                UpdateExpression="SET #t = :type, OpenUntil = :until, ProbesLeft = :probes",
                ConditionExpression="attribute_not_exists(OpenUntil)",
                ExpressionAttributeNames={"#t": "Type"},
                ExpressionAttributeValues={
                    ":type": "Breaker",
                    ":until": open_until,
                    ":probes": probes,
                },
            )
        )

    def take_probe(self, carrier: str, now: int) -> bool:
        return written(
            lambda: self._table.update_item(
                Key=_key(carrier),
                UpdateExpression="SET ProbesLeft = ProbesLeft - :one",
                ConditionExpression="OpenUntil <= :now AND ProbesLeft > :zero",
                ExpressionAttributeValues={":one": 1, ":zero": 0, ":now": now},
            )
        )

    def reopen(self, carrier: str, open_until: int, probes: int) -> None:
        written(
            lambda: self._table.update_item(
                Key=_key(carrier),
                UpdateExpression="SET OpenUntil = :until, ProbesLeft = :probes",
                ConditionExpression="attribute_exists(OpenUntil)",
                ExpressionAttributeValues={":until": open_until, ":probes": probes},
            )
        )

    def close(self, carrier: str, window: int, expires_at: int) -> None:
        # the windows' failures are the outage's: counted again, they would reopen it
        for counted in (window - 1, window):
            self._table.update_item(
                Key=_key(f"{carrier}#{counted}"),
                UpdateExpression="SET Submissions = :zero, Failures = :zero, ExpiresAt = :e",
                ExpressionAttributeValues={":zero": 0, ":e": expires_at},
            )
        self._table.update_item(Key=_key(carrier), UpdateExpression="REMOVE OpenUntil, ProbesLeft")
