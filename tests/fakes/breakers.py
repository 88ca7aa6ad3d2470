"""The breakers' store in memory (`smsgw.dal.breaker_store.BreakerStore`, the
`BreakerStore` port of `smsgw.logic.breaker`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smsgw.logic.breaker import BreakerState


@dataclass
class FakeBreakerStore:
    breakers: dict[str, BreakerState] = field(default_factory=dict)
    windows: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)

    def state(self, carrier: str) -> BreakerState | None:
        return self.breakers.get(carrier)

    def count(
        self, carrier: str, window: int, submissions: int, failures: int, expires_at: int
    ) -> tuple[int, int]:
        before, failed_before = self.windows.get((carrier, window), (0, 0))
        counted = (before + submissions, failed_before + failures)
        self.windows[(carrier, window)] = counted
        return counted

    def counts(self, carrier: str, window: int) -> tuple[int, int]:
        return self.windows.get((carrier, window), (0, 0))

    def open(self, carrier: str, open_until: int, probes: int) -> bool:
        if carrier in self.breakers:
            return False
        self.breakers[carrier] = BreakerState(open_until, probes)
        return True

    def take_probe(self, carrier: str, now: int) -> bool:
        state = self.breakers.get(carrier)
        if state is None or state.open_until > now or state.probes_left <= 0:
            return False
        self.breakers[carrier] = BreakerState(state.open_until, state.probes_left - 1)
        return True

    def reopen(self, carrier: str, open_until: int, probes: int) -> None:
        if carrier in self.breakers:
            self.breakers[carrier] = BreakerState(open_until, probes)

    def close(self, carrier: str, window: int, expires_at: int) -> None:
        self.windows.pop((carrier, window - 1), None)
        self.windows.pop((carrier, window), None)
        self.breakers.pop(carrier, None)
