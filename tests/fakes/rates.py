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
    """Limit key → the next free turn (Unix ms)."""
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
        return self.limits.pop(key)

    def list(self) -> list[RateLimit]:
        return [self.limits[key] for key in sorted(self.limits)]

    def current(self) -> dict[str, float]:
        return {key: limit.rate for key, limit in self.limits.items()}

    def reserve(self, key: str, interval_ms: int, not_before_ms: int) -> int | None:
        if key not in self.limits:
            return None
        self.reservations += 1
        turn = max(self.next_turns.get(key, not_before_ms), not_before_ms)
        self.next_turns[key] = turn + interval_ms
        return turn
