"""A circuit breaker per carrier, shared by every concurrent sender through the table
(docs/carriers.md, "Circuit breakers").

Each submission's result is counted in the carrier's current window (`window_seconds`).
The last `window_seconds` are the current window plus the share of the previous one that
still falls in them (a sliding-window counter: no boundary splits an outage in two). When
they hold at least `min_submissions` results and more than `failure_ratio` of them failed
transiently (5xx, 429, no connection, an unknown outcome), the breaker opens
for `cooldown_seconds`: new messages skip the carrier and go to the next of their route
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


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    window_seconds: int = 60
    min_submissions: int = 10
    """N: fewer results in a window never open the breaker; 0 turns breakers off."""
    failure_ratio: float = 0.5
    cooldown_seconds: int = 30
    probes: int = 3

    @property
    def enabled(self) -> bool:
        return self.min_submissions > 0

    def should_open(self, submissions: int, failures: int) -> bool:
        """Most of at least N submissions of one window failed transiently."""
        return submissions >= self.min_submissions and failures > submissions * self.failure_ratio


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

    def count(
        self, carrier: str, window: int, submissions: int, failures: int, expires_at: int
    ) -> tuple[int, int]:
        """Add results to `carrier`'s window `window`: (submissions, failures) after them."""
        ...

    def counts(self, carrier: str, window: int) -> tuple[int, int]:
        """`carrier`'s (submissions, failures) in window `window`."""
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

    def close(self, carrier: str, window: int, expires_at: int) -> None:
        """A probe succeeded: the breaker closed, and window `window` counted afresh."""
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
        self._pending: dict[str, list[int]] = {}
        self._lock = threading.Lock()

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
                counted = self._pending.setdefault(carrier, [0, 0])
                counted[0] += 1
                counted[1] += int(failed)
            return
        policy, now = self._policy, int(self._clock())
        window = now // policy.window_seconds
        try:
            if failed:
                self._store.reopen(carrier, self._cool_down_end(), policy.probes)
            else:
                self._store.close(carrier, window, (window + 2) * policy.window_seconds)
                logger.info("carrier breaker closed", extra={"Carrier": carrier})
        except Exception as exc:
            logger.warning("breaker write failed", extra={"Carrier": carrier, "reason": str(exc)})

    def _cool_down_end(self) -> int:
        """Whole seconds, rounded up: a cool-down never ends early."""
        return math.ceil(self._clock()) + self._policy.cooldown_seconds

    def flush(self) -> None:
        """Add the results counted since the last flush to each carrier's window (one
        write per carrier: a batch of ten costs one, not ten) and open a breaker whose
        last window mostly failed."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for carrier, (submitted, failed) in pending.items():
            try:
                self._count(carrier, submitted, failed)
            except Exception as exc:
                logger.warning(
                    "breaker write failed", extra={"Carrier": carrier, "reason": str(exc)}
                )

    def _count(self, carrier: str, submitted: int, failed: int) -> None:
        policy, now = self._policy, int(self._clock())
        window = now // policy.window_seconds
        expires = (window + 2) * policy.window_seconds
        submissions, failures = self._store.count(carrier, window, submitted, failed, expires)
        if not failed:
            return  # only failures open it
        if submissions < policy.min_submissions:
            # too few in this window alone: add the share of the previous one still in the
            # last `window_seconds`
            share = 1 - (now % policy.window_seconds) / policy.window_seconds
            before, failed_before = self._store.counts(carrier, window - 1)
            submissions += round(before * share)
            failures += round(failed_before * share)
        if policy.should_open(submissions, failures) and self._store.open(
            carrier, self._cool_down_end(), policy.probes
        ):
            self._closed_until.pop(carrier, None)
            emit(Metric.CARRIER_BREAKER_OPENED)
            logger.warning(
                "carrier breaker opened",
                extra={"Carrier": carrier, "Submissions": submissions, "Failures": failures},
            )
