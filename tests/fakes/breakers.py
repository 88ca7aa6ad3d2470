"""The breakers' store in memory (`smsgw.dal.breaker_store.BreakerStore`, the
`BreakerStore` port of `smsgw.logic.breaker`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smsgw.logic.breaker import BreakerState


@dataclass
class FakeBreakerStore:
    """Another sender's view of the same breakers: `FakeBreakerStore(a.breakers,
    a.histories)`."""

    breakers: dict[str, BreakerState] = field(default_factory=dict)
    histories: dict[str, str] = field(default_factory=dict)

    def state(self, carrier: str) -> BreakerState | None:
        return self.breakers.get(carrier)

    def record(self, carrier: str, results: str, keep: int) -> str:
        self.histories[carrier] = (self.histories.get(carrier, "") + results)[-keep:]
        return self.histories[carrier]

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

    def close(self, carrier: str) -> None:
        self.histories[carrier] = ""
        self.breakers.pop(carrier, None)
