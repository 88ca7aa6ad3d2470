"""The one retry policy: how long to wait after a failed attempt before the next.

Every retry in the product is a `Backoff` (docs/architecture.md): the sender's refused
records (send_batch.SEND_RETRY), the customer webhooks (webhook_delivery.WEBHOOK_RETRY) and
the sender's writes of a carrier's answer (carrier_answer.PERSIST_BACKOFF). Each call site keeps
its own numbers; the arithmetic is here, once.

The wait after attempt n (1-based) is the other side's own ask (a Retry-After) when it
gave one, rounded up and capped; else `schedule[n-1]` (its last delay repeating) or
`base * 2**(n-1)`, capped, then jittered, rounded, capped again.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 0.0
    """The first wait of an exponential policy; it doubles with every attempt."""
    schedule: tuple[float, ...] = ()
    """Or the waits after attempt 1, 2, ..., the last one repeating (then `base` is unused)."""
    cap: float | None = None
    """The longest wait."""
    jitter: float = 0.0
    """Spread of the random factor: waits are shortened by up to this fraction, or with
    `lengthen` lengthened by up to it."""
    lengthen: bool = False
    rounding: Literal["floor", "nearest"] | None = None
    """Whole seconds, rounded down or to the nearest; None keeps the fraction."""
    minimum: float = 0
    """The shortest wait."""

    def delay(
        self,
        attempt: int,
        *,
        asked: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """The wait after failed attempt `attempt` (1-based). `asked` is the wait the other
        side asked for (e.g. a 429's Retry-After); `rand` draws the jitter in [0, 1)."""
        if asked is not None:
            return max(self.minimum, self._capped(math.ceil(asked)))
        if self.schedule:
            wait = self.schedule[min(attempt, len(self.schedule)) - 1]
        else:
            wait = self.base * 2 ** max(0, attempt - 1)
        wait = self._capped(wait)
        if self.jitter:
            if self.lengthen:
                wait = wait * (1 + self.jitter * rand())
            else:
                low = 1 - self.jitter
                wait = wait * (low + (1.0 - low) * rand())
        if self.rounding == "floor":
            wait = int(wait)
        elif self.rounding == "nearest":
            wait = round(wait)
        return max(self.minimum, self._capped(wait))

    def _capped(self, wait: float) -> float:
        return wait if self.cap is None else min(wait, self.cap)
