"""A scheduler tick (smsgw.logic.schedule_release) on the in-memory fakes: every waiting message
is released once, with the delay that keeps it on time, whether ticks are on time, late,
repeated or overlapping."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from smsgw.kernel.scheduling import (
    CLOCK_SKEW_SECONDS,
    FIRST_TICK_LOOKBACK_SECONDS,
    SQS_MAX_DELAY_SECONDS,
    bucket_of,
    last_releasable_bucket,
)
from smsgw.logic.schedule_release import Scheduler
from smsgw.models.message import SCHEDULED
from tests.fakes import FakeMessageStore, FakeScheduleStore, FakeSendQueue
from tests.fakes.builders import T0, a_message

LEASE = 360


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


@pytest.fixture
def messages() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def store(messages) -> FakeScheduleStore:
    return FakeScheduleStore(messages)


@pytest.fixture
def queue() -> FakeSendQueue:
    return FakeSendQueue()


@pytest.fixture
def scheduler(store, queue, pool) -> Scheduler:
    ran_until(store, T0 - 60)
    return Scheduler(store, queue.enqueue_many, lease_seconds=LEASE, pool=pool)


def ran_until(store, moment: int) -> None:
    """The cursor as a scheduler that ran until `moment` left it."""
    assert store.acquire("earlier", moment, 1, 0) is not None
    store.advance("earlier", last_releasable_bucket(moment))
    store.release("earlier")


def waiting(messages, deliver_at: int) -> str:
    message = a_message(status=SCHEDULED, deliver_at=deliver_at, schedule=deliver_at)
    messages.create(message, wait_in_table=True)
    return message.message_sid


def released(queue) -> list[tuple[str | None, int]]:
    return [(job.message_sid, job.delay_seconds) for job in queue.jobs]


def test_a_message_is_released_once_its_minute_is_within_the_queues_delay(
    scheduler, messages, queue
):
    due = T0 + 3600  # the first second of its minute
    sid = waiting(messages, due)

    scheduler.tick(due + 58 - SQS_MAX_DELAY_SECONDS, "tick-1")
    assert released(queue) == []

    now = due + 59 - SQS_MAX_DELAY_SECONDS  # the minute's last second is within reach
    result = scheduler.tick(now, "tick-2")

    assert result.released == 1
    assert released(queue) == [(sid, due - now)]


def test_a_repeated_tick_releases_nothing_twice(scheduler, messages, queue):
    sids = {waiting(messages, T0 + 1800 + i) for i in range(3)}

    scheduler.tick(T0 + 1000, "tick-1")
    scheduler.tick(T0 + 1000, "tick-2")
    scheduler.tick(T0 + 1030, "tick-3")

    assert sorted(sid for sid, _ in released(queue)) == sorted(sids)


def test_a_late_tick_releases_overdue_messages_at_once(scheduler, messages, queue):
    scheduler.tick(T0, "tick-1")
    sid = waiting(messages, T0 + 1200)

    scheduler.tick(T0 + 5000, "tick-2")  # the scheduler was down for over an hour

    assert released(queue) == [(sid, 0)]


def test_an_overlapping_tick_is_skipped(scheduler, store, messages, queue):
    waiting(messages, T0 + 1800)
    store.acquire("slow-tick", T0 + 1000, LEASE, 0)

    result = scheduler.tick(T0 + 1010, "tick-2")

    assert result.skipped and queue.jobs == []
    assert scheduler.tick(T0 + 1000 + LEASE + 1, "tick-3").released == 1


def test_a_tick_after_a_long_outage_stops_at_its_limit_and_the_next_goes_on(
    store, messages, queue, pool
):
    ran_until(store, T0)
    limited = Scheduler(
        store, queue.enqueue_many, lease_seconds=LEASE, pool=pool, max_buckets_per_tick=10
    )
    start = T0 + 3600
    first, later = waiting(messages, start), waiting(messages, start + 20 * 60)

    result = limited.tick(start + 3 * 3600, "tick-2")

    assert result.buckets[1] - result.buckets[0] == 9
    ticks = 2
    while later not in [sid for sid, _ in released(queue)]:
        limited.tick(start + 3 * 3600, f"tick-{ticks + 1}")
        ticks += 1
    assert sorted(sid for sid, _ in released(queue)) == sorted([first, later])


def test_a_busy_minute_is_released_in_batches_of_ten(scheduler, messages, queue):
    due = T0 + 1800
    sids = {waiting(messages, due + i % 60) for i in range(60)}

    scheduler.tick(due - SQS_MAX_DELAY_SECONDS + 59, "tick-1")

    assert sorted(sid for sid, _ in released(queue)) == sorted(sids)
    assert len(queue.jobs) == 60
    assert sorted(delay for _, delay in released(queue)) == [841 + i for i in range(60)]


@pytest.mark.parametrize("first_tick_after", [60, 6 * 3600])
def test_a_new_stacks_first_tick_reads_only_what_can_wait_and_misses_nothing(
    store, messages, queue, pool, first_tick_after
):
    # Given a new table (created at T0): the earliest message that can wait in it (stored
    # at once, due just over 15 minutes later) and a later one, stored before the
    # scheduler ever ran
    store.created = T0
    fresh = Scheduler(store, queue.enqueue_many, lease_seconds=LEASE, pool=pool)
    earliest = waiting(messages, T0 + SQS_MAX_DELAY_SECONDS + 1)
    later = waiting(messages, T0 + 3600)

    # When the scheduler first ticks a minute after the table was created (or hours late)
    # and then every minute
    start = T0 + first_tick_after
    ticks = [fresh.tick(start + 60 * n, f"tick-{n}") for n in range(50)]

    # Then each is released once, and a first tick on time read two or three buckets (the
    # minutes the earliest message can be due in, give or take a clock's skew), not the
    # half hour around it
    assert sorted(sid for sid, _ in released(queue)) == sorted([earliest, later])
    assert sum(t.released for t in ticks) == 2
    first, last = ticks[0].buckets or (0, 0)
    assert first == bucket_of(T0 + SQS_MAX_DELAY_SECONDS - CLOCK_SKEW_SECONDS)
    if first_tick_after == 60:
        assert last - first + 1 <= 3


def test_a_table_that_lost_its_cursor_looks_back_one_day_not_to_its_creation(
    store, messages, queue, pool
):
    # Given a table created a year ago whose cursor is gone, and a message due an hour ago
    store.created = T0 - 365 * 86_400
    overdue = waiting(messages, T0 - 3600)

    # When the scheduler ticks
    result = Scheduler(store, queue.enqueue_many, lease_seconds=LEASE, pool=pool).tick(T0, "t")

    # Then it starts one day back, and catches up in ticks of at most 180 buckets
    first, last = result.buckets or (0, 0)
    assert first == bucket_of(T0 - FIRST_TICK_LOOKBACK_SECONDS)
    assert last - first + 1 == 180
    assert released(queue) == []  # not yet: the message's bucket is further on
    ticks = [
        Scheduler(store, queue.enqueue_many, lease_seconds=LEASE, pool=pool).tick(T0, f"t{n}")
        for n in range(8)
    ]
    assert released(queue) == [(overdue, 0)] and sum(t.released for t in ticks) == 1


def test_a_first_tick_that_fails_leaves_its_start_to_the_next_tick(store, messages, queue, pool):
    # Given a message waiting on a new stack, and a first tick whose queue sends fail
    store.created = T0
    due = T0 + SQS_MAX_DELAY_SECONDS + 1
    sid = waiting(messages, due)

    def failing(jobs):
        raise ConnectionError("SendQueue unreachable")

    with pytest.raises(ConnectionError):
        Scheduler(store, failing, lease_seconds=LEASE, pool=pool).tick(T0 + 60, "first")

    # When the next tick runs two days later (further back than a first tick would look)
    result = Scheduler(store, queue.enqueue_many, lease_seconds=LEASE, pool=pool).tick(
        T0 + 2 * 86_400, "next"
    )

    # Then it goes on from the first tick's start: the overdue message is released at once
    assert released(queue) == [(sid, 0)] and result.released == 1
