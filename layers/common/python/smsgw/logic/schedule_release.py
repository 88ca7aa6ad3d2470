"""One scheduler tick: release every waiting message whose bucket has come within reach
of an SQS delay, once, whether the tick is on time, late, repeated or overlapping."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from smsgw.kernel.scheduling import (
    SHARDS,
    first_cursor,
    last_releasable_bucket,
    release_delay,
)
from smsgw.logic.ports import WaitingRoom

# Buckets one tick releases at most, so a tick after a long outage ends within its timeout;
# the next tick goes on from where it stopped.
MAX_BUCKETS_PER_TICK = 180


@dataclass(frozen=True, slots=True)
class TickResult:
    released: int
    buckets: tuple[int, int] | None
    """The first and last bucket released, or None if there was nothing to do."""
    skipped: bool = False
    """True when another tick held the cursor."""


class Scheduler:
    def __init__(
        self,
        store: WaitingRoom,
        enqueue: Callable[[list[tuple[str, int]]], None],
        *,
        lease_seconds: int,
        pool: ThreadPoolExecutor,
        max_buckets_per_tick: int = MAX_BUCKETS_PER_TICK,
    ) -> None:
        """`enqueue` puts up to ten (MessageSid, delay seconds) jobs on SendQueue."""
        self._store = store
        self._enqueue = enqueue
        self._lease_seconds = lease_seconds
        self._pool = pool
        self._max_buckets = max_buckets_per_tick

    def tick(self, now: int, owner: str) -> TickResult:
        first = first_cursor(now, self._store.created_at())
        last_done = self._store.acquire(owner, now, self._lease_seconds, first)
        if last_done is None:
            return TickResult(0, None, skipped=True)
        try:
            target = last_releasable_bucket(now)
            first = last_done + 1
            last = min(target, first + self._max_buckets - 1)
            released = 0
            for bucket in range(first, last + 1):
                released += self._release_bucket(bucket, now)
                # Only a fully released bucket moves the cursor: a tick that dies mid-bucket
                # leaves it to the next, and the sender's claim absorbs the repeat.
                if not self._store.advance(owner, bucket):
                    break
            return TickResult(released, (first, last) if first <= last else None)
        finally:
            self._store.release(owner)

    def _release_bucket(self, bucket: int, now: int) -> int:
        def shard(number: int) -> int:
            jobs = [
                (sid, release_delay(deliver_at, now))
                for sid, deliver_at in self._store.waiting(bucket, number)
            ]
            for start in range(0, len(jobs), 10):
                self._enqueue(jobs[start : start + 10])
            return len(jobs)

        return sum(self._pool.map(shard, range(SHARDS)))
