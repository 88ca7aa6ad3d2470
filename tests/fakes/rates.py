"""The rate limits' store in memory (`smsgw.dal.rate_store.RateStore`, the `RateStore`
port of `smsgw.logic.rate_limits`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smsgw.dal.rate_store import RateLimit
from smsgw.errors import ErrorCode, NotFoundError


@dataclass
class FakeRateStore:
    limits: dict[str, RateLimit] = field(default_factory=dict)
    next_turns: dict[str, int] = field(default_factory=dict)
    """Limit key → the next actual turn not yet taken (Unix ms)."""
    booked: dict[str, int] = field(default_factory=dict)
    """Limit key → the tail of the line waiting in the queue (Unix ms)."""
    reservations: int = 0

    def put(self, limit: RateLimit, updated: str) -> RateLimit:
        stored = RateLimit(limit.carrier, limit.sender, limit.rate, updated)
        self.limits[limit.key] = stored
        return stored

    def remove(self, carrier: str, sender: str | None) -> RateLimit:
        key = f"{carrier}#{sender}" if sender else carrier
        if key not in self.limits:
            raise NotFoundError(
                ErrorCode.RATE_LIMIT_NOT_FOUND, f"No rate limit is set for {key}.", "Carrier"
            )
        self.next_turns.pop(key, None)
        self.booked.pop(key, None)
        return self.limits.pop(key)

    def list(self) -> list[RateLimit]:
        return [self.limits[key] for key in sorted(self.limits)]

    def current(self) -> dict[str, float]:
        return {key: limit.rate for key, limit in self.limits.items()}

    def turn(
        self, key: str, interval_ms: int, now_ms: int, latest_ms: int | None = None
    ) -> tuple[int, bool] | None:
        if key not in self.limits:
            return None
        self.reservations += 1
        next_ms = self.next_turns.get(key)
        if next_ms is None or next_ms < now_ms:
            self.next_turns[key] = now_ms + interval_ms
            return now_ms, True
        if latest_ms is None or next_ms <= latest_ms:
            self.next_turns[key] = next_ms + interval_ms
            return next_ms, True
        place = max(self.booked.get(key, next_ms), next_ms)
        self.booked[key] = place + interval_ms
        return place, False
