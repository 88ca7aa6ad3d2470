"""The carriers' circuit breakers (smsgw.logic.breaker), shared by every sender.

Keys (see docs/data-model.md):
  breaker  PK=BREAKER  SK=<carrier>   Results, Version; OpenUntil, ProbesLeft (while open)
A closed breaker has no item, or one without OpenUntil (closing removes it: the sender
may update items, not delete them). `Results` is the carrier's last N results ("1" a
failure, "0" not, oldest first); each write of it is conditional on the `Version` it was
computed from, so a concurrent sender's results are never overwritten: the loser is
given the item as it is now and writes again (docs/decisions.md, "Carrier breakers").
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed, written
from smsgw.logic.breaker import BreakerState

PARTITION = "BREAKER"
WRITE_ATTEMPTS = 10
"""A history write that lost to as many concurrent ones in a row is given up (logged by
the caller): one batch's results are missing from the history, nothing else."""


def _key(sort_key: str) -> dict[str, str]:
    return {"PK": PARTITION, "SK": sort_key}


class BreakerStore:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._known: dict[str, tuple[int, str]] = {}

    def state(self, carrier: str) -> BreakerState | None:
        item = self._table.get_item(Key=_key(carrier), ConsistentRead=True).get("Item")
        if not item or "OpenUntil" not in item:
            return None
        return BreakerState(float(item["OpenUntil"]), int(item.get("ProbesLeft", 0)))

    def record(self, carrier: str, results: str, keep: int) -> str:
        # the history this process wrote last: when no other sender wrote since, the
        # conditional write needs no read first
        version, history = self._known.get(carrier, (0, ""))
        for _ in range(WRITE_ATTEMPTS):
            kept = (history + results)[-keep:]
            try:
                self._table.update_item(
                    Key=_key(carrier),
                    UpdateExpression="SET #t = :type, Results = :kept, Version = :next",
                    ConditionExpression="attribute_not_exists(Version)"
                    if version == 0
                    else "Version = :version",
                    ExpressionAttributeNames={"#t": "Type"},
                    ExpressionAttributeValues={
                        ":type": "Breaker",
                        ":kept": kept,
                        ":next": version + 1,
                        **({":version": version} if version else {}),
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                current = exc.response.get("Item") or {}
                version = int(current.get("Version", {}).get("N", 0))
                history = current.get("Results", {}).get("S", "")
                continue
            self._known[carrier] = (version + 1, kept)
            return kept
        raise RuntimeError(f"the breaker history of {carrier} kept changing")

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

    def close(self, carrier: str) -> None:
        # the history is the outage's: counted again, it would reopen the breaker at once
        self._table.update_item(
            Key=_key(carrier),
            UpdateExpression="SET Results = :none, Version = if_not_exists(Version, :zero) + :one "
            "REMOVE OpenUntil, ProbesLeft",
            ExpressionAttributeValues={":none": "", ":zero": 0, ":one": 1},
        )
