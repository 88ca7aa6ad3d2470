"""A circuit breaker per carrier, shared by every concurrent sender through the table
(docs/carriers.md, "Circuit breakers").

Each submission's result is added to the carrier's history of its last `submissions` (N)
results, whatever their rate (docs/decisions.md, "Carrier breakers"). When more than
`failure_ratio` of N failed transiently (5xx, 429, no connection, an unknown outcome), the
breaker opens for `cooldown_seconds`: new messages skip the carrier and go to the next of
their route
(the last carrier of a route is always tried). When the cool-down ends, `probes` messages
may try it; the first probe that succeeds closes the breaker, one that fails opens it for
another cool-down. A refusal of the message, or a permanent one about the carrier (a
country not enabled), is no sign of an outage and counts as a success.

The breaker only ever keeps a message from being submitted; it never causes a second
submission, so it cannot break the exactly-once promise.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from smsgw.observability import Metric, emit, logger


class Gate(StrEnum):
    """What a carrier's breaker says about a submission now."""

    CLOSED = "closed"
    """Submit."""
    OPEN = "open"
    """Do not submit: another carrier of the route should be tried."""
    PROBE = "probe"
    """Submit: this submission tests whether the carrier is back."""


FAILED = "1"
SUCCEEDED = "0"
"""One result in a carrier's history: a string of these, oldest first."""


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    submissions: int = 10
    """N: the breaker judges a carrier's last N results; 0 turns breakers off."""
    failure_ratio: float = 0.5
    cooldown_seconds: int = 30
    probes: int = 3

    @property
    def enabled(self) -> bool:
        return self.submissions > 0

    def should_open(self, history: str) -> bool:
        """Most of the last N submissions failed transiently (a history shorter than N
        counts its missing results as successes: a quiet carrier's two failures never
        open it)."""
        failures = history[-self.submissions :].count(FAILED)
        return failures > self.submissions * self.failure_ratio


@dataclass(frozen=True, slots=True)
class BreakerState:
    open_until: float
    """The cool-down's end (Unix seconds); probing starts then."""
    probes_left: int


class BreakerStore(Protocol):
    """The breakers' items (smsgw.dal.breaker_store.BreakerStore)."""

    def state(self, carrier: str) -> BreakerState | None:
        """The breaker of `carrier` when it is open (or probing); None when closed."""
        ...

    def record(self, carrier: str, results: str, keep: int) -> str:
        """Append `results` (FAILED or SUCCEEDED each) to `carrier`'s history, which keeps
        its last `keep`, and give that history. No result is lost to a concurrent
        sender's."""
        ...

    def open(self, carrier: str, open_until: int, probes: int) -> bool:
        """Open a closed breaker. False when it was open already."""
        ...

    def take_probe(self, carrier: str, now: int) -> bool:
        """Take one probe of a breaker whose cool-down is over. False when none is left."""
        ...

    def reopen(self, carrier: str, open_until: int, probes: int) -> None:
        """A probe failed: another cool-down."""
        ...

    def close(self, carrier: str) -> None:
        """A probe succeeded: the breaker closed, and its history started afresh."""
        ...


class CircuitBreakers:
    def __init__(
        self,
        store: BreakerStore,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.time,
        state_cache_seconds: float = 5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`state_cache_seconds` keeps a closed breaker's answer that long in this process
        (a read per carrier per few seconds, not per message); an open one is re-read."""
        self._store = store
        self._policy = policy
        self._clock = clock
        self._cache_seconds = state_cache_seconds
        self._monotonic = monotonic
        self._closed_until: dict[str, float] = {}
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()

    def skips(self, carrier: str) -> bool:
        """Whether `carrier` is skipped now (open, in its cool-down), read without taking a
        probe; False when the read fails."""
        if not self._policy.enabled or self._monotonic() < self._closed_until.get(carrier, 0):
            return False
        try:
            state = self._store.state(carrier)
        except Exception:
            return False
        return state is not None and self._clock() < state.open_until

    def gate(self, carrier: str) -> Gate:
        """Whether a submission to `carrier` may go now. A failing read says CLOSED (the
        breaker must never stop sending by itself)."""
        if not self._policy.enabled or self._monotonic() < self._closed_until.get(carrier, 0):
            return Gate.CLOSED
        try:
            state = self._store.state(carrier)
            if state is None:
                self._closed_until[carrier] = self._monotonic() + self._cache_seconds
                return Gate.CLOSED
            now = self._clock()
            if now < state.open_until:
                return Gate.OPEN
            if state.probes_left <= 0 and now >= state.open_until + self._policy.cooldown_seconds:
                # its probes went out a cool-down ago and none reported (their senders
                # died): hand out new ones, or it would stay open for good
                self._store.reopen(carrier, int(now), self._policy.probes)
            return Gate.PROBE if self._store.take_probe(carrier, int(now)) else Gate.OPEN
        except Exception as exc:
            logger.warning("breaker read failed", extra={"Carrier": carrier, "reason": str(exc)})
            return Gate.CLOSED

    def record(self, carrier: str, gate: Gate, failed: bool) -> None:
        """Count one submission's result (`failed`: transiently, or outcome unknown). A
        probe's result reopens or closes the breaker at once; the others are counted at
        `flush`, once per batch. Best effort: a failing write is logged, never raised (the
        message's own outcome is already decided)."""
        if not self._policy.enabled:
            return
        if gate is not Gate.PROBE:
            with self._lock:
                self._pending[carrier] = self._pending.get(carrier, "") + (
                    FAILED if failed else SUCCEEDED
                )
            return
        try:
            if failed:
                self._store.reopen(carrier, self._cool_down_end(), self._policy.probes)
            else:
                self._store.close(carrier)
                logger.info("carrier breaker closed", extra={"Carrier": carrier})
        except Exception as exc:
            logger.warning("breaker write failed", extra={"Carrier": carrier, "reason": str(exc)})

    def _cool_down_end(self) -> int:
        """Whole seconds, rounded up: a cool-down never ends early."""
        return math.ceil(self._clock()) + self._policy.cooldown_seconds

    def flush(self) -> None:
        """Add the results counted since the last flush to each carrier's history (one
        write per carrier: a batch of ten costs one, not ten) and open a breaker whose
        last N results mostly failed."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for carrier, results in pending.items():
            try:
                self._count(carrier, results)
            except Exception as exc:
                logger.warning(
                    "breaker write failed", extra={"Carrier": carrier, "reason": str(exc)}
                )

    def _count(self, carrier: str, results: str) -> None:
        policy = self._policy
        history = self._store.record(carrier, results, policy.submissions)
        if FAILED not in results:
            return  # only failures open it
        if policy.should_open(history) and self._store.open(
            carrier, self._cool_down_end(), policy.probes
        ):
            self._closed_until.pop(carrier, None)
            emit(Metric.CARRIER_BREAKER_OPENED)
            logger.warning(
                "carrier breaker opened",
                extra={
                    "Carrier": carrier,
                    "Submissions": len(history),
                    "Failures": history.count(FAILED),
                },
            )
