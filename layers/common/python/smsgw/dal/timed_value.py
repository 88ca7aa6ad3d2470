"""A value read from the table at most once every so many seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TimedValue[T]:
    """What `read` returns, kept `seconds` (0: read on every call) and shared by the
    threads of one warm function: the sender's routes and rate limits, read once a
    minute."""

    def __init__(
        self, read: Callable[[], T], seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._read = read
        self._seconds = seconds
        self._clock = clock
        self._kept: tuple[float, T] | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            now = self._clock()
            if self._kept is not None and now - self._kept[0] < self._seconds:
                return self._kept[1]
            value = self._read()
            self._kept = (now, value)
            return value
