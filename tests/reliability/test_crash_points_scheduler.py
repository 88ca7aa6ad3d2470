"""Crash point of the scheduler tick (docs/reliability.md, the boundary map): the tick
killed after it sent a bucket's jobs to SendQueue and before it advanced its cursor.

Nothing in the dead tick runs again, so its cursor lease is not given back: the next ticks
are skipped until the lease (360 s) expires, and the first one after it releases the
bucket again. Messages scheduled more than 15 minutes ahead wait in the table; the test
plays EventBridge (a tick every simulated minute) and SendQueue (each job visible after
its delay), and the sender handles every job that becomes visible. Each message must be
submitted once although its bucket was released twice.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter

from smsgw.dal.schedule_store import ScheduleStore
from smsgw.dal.send_queue import SendQueue
from smsgw.kernel.scheduling import bucket_of
from tests.reliability.conftest import FROM, QueueModel, _record, recipient
from tests.reliability.crash_harness import (
    CRASH_MESSAGES,
    Boundary,
    Figures,
    Killed,
    messages_by_text,
)

SPREAD_MINUTES = 10
KILLED_BUCKETS = 3
MINUTES = 45


def test_a_tick_killed_before_its_cursor_moved_releases_the_bucket_again_and_sends_once(
    sender, tenant, simulator, stack, aws_session, monkeypatch
):
    from smsgw import minute_tick, services

    # The simulated clock starts well in the past, so every message is due by the real
    # time at which the sender (on the real clock) claims it.
    start = int(time.time()) - (MINUTES + 5) * 60
    # The table, made moments ago, is as old as the simulated clock: its scheduler's
    # first tick starts from the table's creation (kernel/scheduling.first_cursor).
    monkeypatch.setattr(ScheduleStore, "created_at", lambda store: start)
    # SendQueue as the scheduler fills it: each job visible after its delay
    visible: list[tuple[int, dict]] = []
    clock = {"now": start}
    enqueued = [0]

    def enqueue_many(queue, jobs):
        enqueued[0] += len(jobs)
        for sid, delay in jobs:
            body = json.dumps({"MessageSid": sid})
            visible.append((clock["now"] + delay, _record(body, sender.queue_arn)))

    monkeypatch.setattr(SendQueue, "enqueue_many", enqueue_many)
    minute_tick.scheduler.cache_clear()
    assert minute_tick.run_tick("first", now=start).released == 0  # the cursor starts here

    # Given N messages scheduled 16 to 25 minutes ahead: they wait in the table
    use_case = services.send_requests()
    prop = services.tenants().get_property(tenant.property_sid)
    rng = random.Random(15)
    due = {}
    for n in range(CRASH_MESSAGES):
        text = f"Scheduled crash-point message {n}"
        due[text] = start + 16 * 60 + rng.randrange(SPREAD_MINUTES * 60)
        accepted = use_case.accept(
            property_sid=prop.property_sid,
            account_sid=prop.account_sid,
            account_sms_enabled=True,
            read_body=lambda n=n, text=text: {
                "From": FROM,
                "To": recipient(n),
                "Text": text,
                "Schedule": due[text],
            },
            now=start,
        )
        assert accepted.body["Message"]["Status"] == "scheduled"
    # and a tick that dies before advancing its cursor past the first buckets holding some
    buckets = sorted({bucket_of(at) for at in due.values()})[:KILLED_BUCKETS]
    dead = set()  # the ticks killed: their `finally` (giving the lease back) does not run
    dead_buckets: set[int] = set()

    def dies(store, owner, bucket):
        if bucket not in buckets or bucket in dead_buckets:
            return None
        dead_buckets.add(bucket)
        dead.add(owner)
        return bucket

    kill = Boundary(monkeypatch, ScheduleStore, "advance", dies, after=False)
    release = ScheduleStore.release
    monkeypatch.setattr(
        ScheduleStore,
        "release",
        lambda store, owner: None if owner in dead else release(store, owner),
    )

    # When EventBridge ticks every simulated minute, and the sender handles each job once it
    # is visible (a job is acknowledged, or delivered again by the queue model)
    queue = QueueModel()
    skipped, jobs = 0, 0
    for minute in range(1, MINUTES + 1):
        clock["now"] = start + 60 * minute
        owner = f"tick-{minute}-{uuid.uuid4().hex[:6]}"
        try:
            result = minute_tick.run_tick(owner, now=clock["now"])
            skipped += result.skipped
        except Killed:
            assert owner in dead
        ready = [record for at, record in visible if at <= clock["now"]]
        visible[:] = [(at, record) for at, record in visible if at > clock["now"]]
        while ready:
            jobs += len(ready)
            again = []
            for begin in range(0, len(ready), 10):
                batch = [queue.deliver(r) for r in ready[begin : begin + 10]]
                failed = {f["itemIdentifier"] for f in sender.invoke(batch)["batchItemFailures"]}
                again += queue.settle(ready[begin : begin + 10], failed)
            ready = again

    # Then every bucket was released again after its tick died, and each message was
    # submitted once, on the sender's claim
    stored = messages_by_text(aws_session, stack)
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert kill.crashes == len(buckets) and skipped >= len(buckets) * 5
    assert [submitted[text] for text in due] == [1] * CRASH_MESSAGES
    in_killed_buckets = sum(bucket_of(at) in buckets for at in due.values())
    # a killed bucket's messages are released again, but for those already claimed (their
    # first job came due and was sent before the next tick: the claim left the waiting room)
    assert CRASH_MESSAGES < enqueued[0] <= CRASH_MESSAGES + in_killed_buckets
    assert visible == [] and queue.dead_letters == {}
    figures = Figures.of(
        "scheduler tick killed after a bucket's jobs, before its cursor moved",
        [stored[text][0] for text in due],
        crashes=kill.crashes,
        dead_lettered=len(queue.dead_letters),
        duplicates=sum(count - 1 for count in submitted.values()),
        note=(
            f"{enqueued[0]} jobs released for {CRASH_MESSAGES} messages "
            f"({in_killed_buckets} in the killed buckets), {jobs} delivered, "
            f"{skipped} ticks skipped on a dead tick's lease"
        ),
    )
    figures.show()
    assert (figures.final, figures.stuck, figures.duplicates) == (CRASH_MESSAGES, 0, 0)
