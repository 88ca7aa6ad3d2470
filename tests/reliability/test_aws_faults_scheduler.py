"""AWS faults on the scheduler's tick and on reconciliation (docs/reliability.md, "AWS
faults"): DynamoDB and SQS calls that fail after botocore's own retries (aws_faults.py),
through the scheduler's tick and reconciliation (what its handler runs each minute) and
the real sender against moto.

A tick that fails has not moved its cursor past the bucket it was releasing, so a later
tick releases the bucket again and the sender's claim absorbs the repeat; a tick whose
lease could not be given back holds it for its 360 s. A reconciliation run that fails is
run again the next minute. Each message must be submitted once, and never resubmitted.
"""

from __future__ import annotations

import random
import time
from collections import Counter

from botocore.exceptions import ClientError

from smsgw import minute_tick, services
from smsgw.dal.schedule_store import ScheduleStore
from smsgw.dal.send_queue import SendQueue
from smsgw.logic.reconcile import GRACE_SECONDS
from tests.reliability.aws_faults import (
    FAULT_MESSAGES,
    INTERNAL,
    THROTTLED,
    UNAVAILABLE,
    aws_faults,  # noqa: F401 - the fixture
    both,
    first_calls,
    pk_starts,
    updating,
)
from tests.reliability.conftest import FROM, recipient
from tests.reliability.crash_harness import Figures, drain_send_queue, messages_by_text
from tests.reliability.test_duplicates import message_items

MINUTES = 30
SPREAD_MINUTES = 10


def test_a_scheduler_tick_under_aws_faults_releases_each_message_and_sends_it_once(
    aws_faults,  # noqa: F811
    sender,
    tenant,
    simulator,
    stack,
    aws_session,
    monkeypatch,
):
    # The simulated clock starts in the past, so that every message is due by the real
    # time at which the sender claims it; SendQueue's delays are not waited out.
    start = int(time.time()) - (MINUTES + 5) * 60
    # The table, made moments ago, is as old as the simulated clock: its scheduler's
    # first tick starts from the table's creation (kernel/scheduling.first_cursor).
    monkeypatch.setattr(ScheduleStore, "created_at", lambda store: start)
    enqueue_many = SendQueue.enqueue_many
    monkeypatch.setattr(
        SendQueue, "enqueue_many", lambda q, jobs: enqueue_many(q, [(s, 0) for s, _ in jobs])
    )
    minute_tick.scheduler.cache_clear()
    assert minute_tick.run_tick("first", now=start).released == 0  # the cursor starts here

    # Given messages scheduled 16 to 25 minutes ahead: they wait in the table
    use_case = services.send_requests()
    prop = services.tenants().get_property(tenant.property_sid)
    rng = random.Random(4)
    count = FAULT_MESSAGES * 4
    texts = []
    for n in range(count):
        text, at = (
            f"Scheduled under faults {n}",
            start + 16 * 60 + rng.randrange(SPREAD_MINUTES * 60),
        )
        use_case.accept(
            property_sid=prop.property_sid,
            account_sid=prop.account_sid,
            account_sms_enabled=True,
            read_body=lambda n=n, text=text, at=at: {
                "From": FROM,
                "To": recipient(n),
                "Text": text,
                "Schedule": at,
            },
            now=start,
        )
        texts.append(text)
    # and DynamoDB or SQS failing one call of a tick, one row after another (a rule stands
    # from one tick until a call of its kind has failed)
    cursor = pk_starts("SCHEDULER")
    faults = {
        1: ("SendMessageBatch throttled", "sqs", "SendMessageBatch", THROTTLED, lambda b: True),
        2: ("waiting-room query 5xx", "dynamodb", "Query", INTERNAL, lambda b: True),
        3: (
            "cursor advance throttled",
            "dynamodb",
            "UpdateItem",
            THROTTLED,
            both(cursor, updating("SET #b = :bucket")),
        ),
        4: (
            "cursor lease throttled",
            "dynamodb",
            "UpdateItem",
            UNAVAILABLE,
            both(cursor, updating("LeaseUntil = :until")),
        ),
        5: (
            "lease release throttled",
            "dynamodb",
            "UpdateItem",
            THROTTLED,
            both(cursor, updating("REMOVE LeaseUntil")),
        ),
    }

    # When EventBridge ticks every simulated minute, and the sender handles SendQueue
    failed_ticks, skipped, released, jobs = {}, 0, 0, 0
    rules, waiting = {}, list(faults)
    for minute in range(1, MINUTES + 1):
        if waiting and not rules.get(waiting[0]):
            row, service, operation, fault, where = faults[waiting[0]]
            rules[waiting[0]] = aws_faults.fail(service, operation, fault, where=where, calls=1)
        try:
            result = minute_tick.run_tick(f"tick-{minute}", now=start + 60 * minute)
            skipped += result.skipped
            released += result.released
        except ClientError:
            failed_ticks[waiting.pop(0)] = minute
            aws_faults.stop()
        jobs += drain_send_queue(sender.invoke, aws_session, stack)

    # Then each failed tick left its bucket to a later one, and each message was sent once
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert [submitted[t] for t in texts] == [1] * count
    stored = messages_by_text(aws_session, stack)
    assert {stored[t][0]["Status"] for t in texts} == {"sent"}
    assert list(failed_ticks) == list(faults) and {r.failed for r in rules.values()} == {1}
    assert skipped >= 5  # the lease that could not be given back held for its 360 s
    assert jobs >= count  # a failed tick's jobs and those of the tick after it
    for key, (row, *_) in faults.items():
        Figures.of(
            f"scheduler tick, {row}",
            [stored[t][0] for t in texts],
            crashes=rules[key].failed,
            duplicates=sum(submitted[t] - 1 for t in texts),
            note=(
                f"the tick of minute {failed_ticks[key]} failed; {len(failed_ticks)} ticks "
                "failed in all, "
                f"{skipped} skipped on a held lease; {jobs} jobs for {count} messages "
                f"({released} from the ticks that went through)"
            ),
            kind="aws faults",
        ).show()


def test_reconciliation_under_aws_faults_settles_each_unknown_outcome_without_a_resend(
    aws_faults,  # noqa: F811
    sender,
    tenant,
    simulator,
    stack,
    aws_session,
):
    # Given messages whose carrier took them and whose answer was lost (the connection
    # dropped): `sending`, SubmitState unknown, in the unsettled index
    count = FAULT_MESSAGES * 3
    simulator.set_fault("drop", count=count)
    sid_by_text, records = sender.accept(tenant.property_sid, count)
    for start in range(0, len(records), 10):
        assert sender.invoke(records[start : start + 10]) == {"batchItemFailures": []}
    sids = sorted(sid_by_text.values())
    items = message_items(aws_session, stack)
    assert {items[sid]["SubmitState"] for sid in sids} == {"unknown"}
    groups = [sids[g::3] for g in range(3)]
    # and DynamoDB failing the index's query once, the message's read of one group, and
    # the `sent` write of another (after the carrier found it)
    rules = {
        "unsettled-index query throttled": aws_faults.fail("dynamodb", "Query", THROTTLED, calls=1),
        "message read 5xx": aws_faults.fail(
            "dynamodb", "GetItem", INTERNAL, where=first_calls(f"MESSAGE#{s}" for s in groups[1])
        ),
        "`sent` write throttled after the carrier found it": aws_faults.fail(
            "dynamodb",
            "UpdateItem",
            THROTTLED,
            where=first_calls((f"MESSAGE#{s}" for s in groups[2]), also=updating("#s = :sent")),
        ),
    }

    # When reconciliation runs once a simulated minute after its grace period, until a run
    # goes through (a run that fails ends there, what it settled stays settled; the next
    # minute's starts over)
    now = time.time() + GRACE_SECONDS + 1
    runs, failed_runs = 0, 0
    minute_tick.reconciler.cache_clear()
    while True:
        runs += 1
        assert runs <= 3 * count, "reconciliation never caught up"
        try:
            minute_tick.run_reconcile(now + 60 * runs)
        except ClientError:
            failed_runs += 1
            continue
        break
    aws_faults.stop()

    # Then every message is `sent` with the carrier's id, and none was submitted again
    items = message_items(aws_session, stack)
    assert {(items[s]["Status"], items[s]["SubmitState"]) for s in sids} == {("sent", "done")}
    assert all("GSI3PK" not in items[s] for s in sids)
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert len(submitted) == count and set(submitted.values()) == {1}
    assert failed_runs == sum(rule.failed for rule in rules.values())
    for row, rule in rules.items():
        Figures.of(
            f"reconciliation, {row}",
            [items[s] for s in sids],
            crashes=rule.failed,
            note=(
                f"{failed_runs} of {runs} runs failed and were run again the next minute; "
                f"all {count} found at the carrier, none resubmitted"
            ),
            kind="aws faults",
        ).show()
