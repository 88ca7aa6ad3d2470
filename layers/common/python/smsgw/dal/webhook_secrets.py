"""Per-property webhook signing secrets, on the property item (`WebhookSecrets`).

`WebhookSecrets` is a list, oldest first, of `{"Secret": "whsec_…", "Created": iso,
"ExpiresAt": unix seconds}`; the newest has no ExpiresAt. A rotation appends a new secret
and gives the previous one an ExpiresAt (24 h by default); until then both sign.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from smsgw.dal.conditions import written
from smsgw.errors import ErrorCode, NotFoundError
from smsgw.kernel.webhook_signing import new_secret
from smsgw.models.message import iso_from_epoch

ROTATION_OVERLAP_SECONDS = 24 * 3600


def _key(property_sid: str) -> dict[str, str]:
    return {"PK": f"PROPERTY#{property_sid}", "SK": "PROPERTY"}


def active(entries: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """The entries still valid at `now`, oldest first."""
    return [e for e in entries if "ExpiresAt" not in e or int(e["ExpiresAt"]) > now]


class WebhookSecretStore:
    def __init__(
        self,
        table: Any,
        generate: Callable[[], str] = new_secret,
        *,
        cache_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`cache_seconds` keeps a property's secrets that long for `active_secrets` (the
        notifier's signing); reads for rotation and the admin CLI always go to the table."""
        self._table = table
        self._generate = generate
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def entries(self, property_sid: str) -> list[dict[str, Any]] | None:
        """The stored entries; None when there is no such property."""
        item = self._table.get_item(
            Key=_key(property_sid),
            ProjectionExpression="PK, WebhookSecrets",
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return list(item.get("WebhookSecrets") or [])

    def active_secrets(self, property_sid: str, now: float) -> list[str]:
        """The secrets that sign a callback now (newest last); a property without one gets
        its first on first use.

        Read from the cache when it is fresh: a rotation keeps the previous secret valid for
        24 hours, so signing with it for `cache_seconds` more is what a receiver expects."""
        cached = self._cached.get(property_sid)
        if cached and self._clock() - cached[0] < self._cache_seconds:
            entries = active(cached[1], now)
            if entries:
                return [e["Secret"] for e in entries]
        read_at = self._clock()
        entries = active(self.entries(property_sid) or [], now)
        if not entries:
            entries = self.ensure(property_sid, now)
        if self._cache_seconds:
            self._cached[property_sid] = (read_at, entries)
        return [e["Secret"] for e in entries]

    def ensure(self, property_sid: str, now: float) -> list[dict[str, Any]]:
        """Give the property a secret if it has no valid one; its active entries."""
        current = self.entries(property_sid)
        if current is None:
            raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.")
        if active(current, now):
            return active(current, now)
        fresh = [{"Secret": self._generate(), "Created": iso_from_epoch(now)}]
        if self._replace(property_sid, current, fresh):
            return fresh
        return active(self.entries(property_sid) or [], now)

    def rotate(
        self, property_sid: str, now: float, overlap_seconds: int = ROTATION_OVERLAP_SECONDS
    ) -> list[dict[str, Any]]:
        """A new secret; the previous newest stays valid for `overlap_seconds`."""
        for _ in range(3):
            current = self.entries(property_sid)
            if current is None:
                raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.")
            kept = active(current, now)[-1:]
            kept = [{**e, "ExpiresAt": int(now) + overlap_seconds} for e in kept]
            entries = [*kept, {"Secret": self._generate(), "Created": iso_from_epoch(now)}]
            if self._replace(property_sid, current, entries):
                return entries
        raise RuntimeError("webhook secret changed concurrently; retry")

    def drop_previous(self, property_sid: str, now: float) -> list[dict[str, Any]]:
        """End a rotation now: only the newest secret stays."""
        for _ in range(3):
            current = self.entries(property_sid)
            if current is None:
                raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.")
            entries = active(current, now)[-1:]
            if not entries:
                return self.ensure(property_sid, now)
            if self._replace(property_sid, current, entries):
                return entries
        raise RuntimeError("webhook secret changed concurrently; retry")

    def _replace(
        self, property_sid: str, expected: list[dict[str, Any]], entries: list[dict[str, Any]]
    ) -> bool:
        """Write `entries` only if the list is still `expected` (no lost rotations)."""
        values: dict[str, Any] = {":new": entries}
        if expected:
            condition = "WebhookSecrets = :old"
            values[":old"] = expected
        else:
            condition = "attribute_exists(PK) AND (attribute_not_exists(WebhookSecrets) OR size(WebhookSecrets) = :zero)"
            values[":zero"] = 0
        return written(
            lambda: self._table.update_item(
                Key=_key(property_sid),
                UpdateExpression="SET WebhookSecrets = :new",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        )
