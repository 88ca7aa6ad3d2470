"""AWS faults on the sender and on raw SendQueue requests (docs/reliability.md, "AWS
faults"): DynamoDB and SQS calls that fail after botocore's own retries (aws_faults.py),
through the real sender handler against moto.

The test plays the SQS event source (conftest.QueueModel): a record the function did not
acknowledge is delivered again, after the queue's 180 s visibility timeout (the sender's
clock is moved on, never slept), and after its fifth receive it is dead-lettered. Then the
scheduler ticks and reconciliation runs, as they would in the minutes after. Each message
must be submitted once and end final, whether its job came back, was dead-lettered (its
recovery entry queues it again) or its outcome write failed (reconciliation finds it);
no valid raw request may be stored `rejected` because DynamoDB failed.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from smsgw import minute_tick, send_batch
from smsgw.ids import MESSAGE_PREFIX, derived_sid
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
from tests.reliability.conftest import FROM, QueueModel, _record, recipient
from tests.reliability.crash_harness import (
    Figures,
    drain_send_queue,
    outcome,
    queue_until_handled,
)
from tests.reliability.test_duplicates import message_items

VISIBILITY_TIMEOUT_SECONDS = 180  # SendQueue's (template.yaml)
CLAIM = updating("SubmitState = :claimed")
OUTCOME = updating("SubmitState = :state")


class Redeliveries:
    """The event source over a QueueModel: every record until acknowledged or dead-lettered,
    the sender's clock moved past the visibility timeout before each delivery again (the
    carrier's clock is the real one, so the first delivery is now)."""

    def __init__(self, sender, monkeypatch) -> None:
        self.sender = sender
        self.queue = QueueModel()
        self.later = 0
        monkeypatch.setattr(send_batch.dispatcher(), "_clock", lambda: time.time() + self.later)

    def run(self, records) -> int:
        """Deliver `records` now, and again what comes back; the number of deliveries."""
        self.later = 0

        def visibility_passed() -> None:
            self.later += VISIBILITY_TIMEOUT_SECONDS + 1

        return queue_until_handled(
            self.sender.invoke, records, self.queue, before_again=visibility_passed
        )


def test_the_sender_under_aws_faults_submits_each_message_once_and_loses_none(
    aws_faults,  # noqa: F811
    sender,
    simulator,
    tenant,
    aws_session,
    stack,
    monkeypatch,
):
    rows = [
        "claim throttled",
        "claim 5xx on every receive",
        "opt-out read throttled",
        "outcome write throttled on every try",
        "carrier 5xx, then the back-off's visibility change throttled",
        "carrier 5xx, then its retryable write throttled on every try",
    ]
    sid_by_text, records = sender.accept(tenant.property_sid, FAULT_MESSAGES * len(rows))
    sids = [json.loads(r["body"])["MessageSid"] for r in records]
    row_of = {sid: rows[n // FAULT_MESSAGES] for n, sid in enumerate(sids)}
    keys = {row: [f"MESSAGE#{sid}" for sid in sids if row_of[sid] == row] for row in rows}
    by_row = {
        row: [r for r, sid in zip(records, sids, strict=True) if row_of[sid] == row] for row in rows
    }
    redeliveries = Redeliveries(sender, monkeypatch)
    back_offs: list[int] = []
    back_off = send_batch._back_off
    monkeypatch.setattr(
        send_batch,
        "_back_off",
        lambda record, delay: back_offs.append(delay) or back_off(record, delay),
    )
    opt_out_keys = [
        f"OPTOUT#{tenant.account_sid}#{recipient(n)}"
        for n, sid in enumerate(sids)
        if row_of[sid] == "opt-out read throttled"
    ]

    # Given a carrier refusing two rows' messages once: SQS refusing the back-off's
    # visibility change of one (the record comes back after the visibility timeout instead),
    # DynamoDB the other's `retryable` write on each of the sender's three tries
    refused, last = rows[-1], rows[-2]
    simulator.set_fault("5xx", FAULT_MESSAGES)
    rules = {
        refused: aws_faults.fail(
            "dynamodb", "UpdateItem", THROTTLED, where=first_calls(keys[refused], 3, OUTCOME)
        )
    }
    deliveries = redeliveries.run(by_row[refused])
    aws_faults.stop()
    simulator.set_fault("5xx", FAULT_MESSAGES)
    rules[last] = aws_faults.fail("sqs", "ChangeMessageVisibility", THROTTLED)
    deliveries += redeliveries.run(by_row[last])
    aws_faults.stop()
    # and DynamoDB failing the others' calls: the claim once, the claim every time, the
    # opt-out read once, the outcome write on each of the sender's three tries
    rules["claim throttled"] = aws_faults.fail(
        "dynamodb", "UpdateItem", THROTTLED, where=first_calls(keys["claim throttled"], also=CLAIM)
    )
    rules["claim 5xx on every receive"] = aws_faults.fail(
        "dynamodb",
        "UpdateItem",
        INTERNAL,
        where=both(pk_starts(*keys["claim 5xx on every receive"]), CLAIM),
    )
    rules["opt-out read throttled"] = aws_faults.fail(
        "dynamodb", "GetItem", UNAVAILABLE, where=first_calls(opt_out_keys)
    )
    rules["outcome write throttled on every try"] = aws_faults.fail(
        "dynamodb",
        "UpdateItem",
        THROTTLED,
        where=first_calls(keys["outcome write throttled on every try"], per_key=3, also=OUTCOME),
    )

    # When the event source delivers the rest, and again what was not acknowledged
    deliveries += redeliveries.run([r for row in rows[:-2] for r in by_row[row]])
    aws_faults.stop()
    items = message_items(aws_session, stack)
    unknown_before = {sid for sid, item in items.items() if outcome(item) == "unknown"}
    dead = {json.loads(r["body"])["MessageSid"] for r in redeliveries.queue.dead_letters.values()}
    # and the scheduler ticks once a simulated minute (a dead-lettered job's message still
    # has its recovery entry), then reconciliation runs after its grace period
    now = time.time() + redeliveries.later
    released = 0
    jobs = 0
    for minute in range(1, 9):
        released += minute_tick.run_tick(f"tick-{minute}", now=now + 60 * minute).released
        jobs += drain_send_queue(sender.invoke, aws_session, stack)
    minute_tick.reconciler.cache_clear()
    reconciled = minute_tick.run_reconcile(now + GRACE_SECONDS + 1)

    # Then every message was submitted once and is final, but for those whose refusal could
    # not be recorded: never submitted, in the unknown-outcome state (never resent)
    never = {sid for sid in sids if row_of[sid] == refused}
    submitted = Counter(s["Body"] for s in simulator.submissions())
    text_of = {sid: text for text, sid in sid_by_text.items()}
    assert sorted(submitted) == sorted(text_of[s] for s in sids if s not in never)
    assert set(submitted.values()) == {1}
    items = message_items(aws_session, stack)
    assert {items[sid]["Status"] for sid in sids if sid not in never} == {"sent"}
    assert {outcome(items[sid]) for sid in never} == {"unknown"}
    assert all(items[sid]["GSI3PK"].startswith("UNSETTLED#") for sid in never)
    # ... the dead-lettered ones were the claim-5xx row, queued again by their recovery entry
    assert dead == {sid for sid in sids if row_of[sid] == "claim 5xx on every receive"}
    assert released == len(dead)
    # ... the failed outcome writes left the unknown-outcome state, which reconciliation ended
    outcome_row = {sid for sid in sids if row_of[sid] == "outcome write throttled on every try"}
    assert unknown_before == outcome_row | never and reconciled.found == len(outcome_row)
    assert reconciled.pending == len(never)  # not at the carrier: asked again for 24 h
    assert len(back_offs) >= 2 * FAULT_MESSAGES  # a carrier's 5xx and the opt-out's
    notes = {
        "claim throttled": "each record delivered again, then sent",
        "claim 5xx on every receive": (
            f"{len(dead)} dead-lettered after 5 receives; {released} released by the "
            f"scheduler's recovery entries and sent"
        ),
        "opt-out read throttled": "the claim given back, delivered again, then sent",
        "outcome write throttled on every try": (
            f"{len(outcome_row)} left sending/claimed (the carrier had them), indexed on "
            f"their redelivery after {VISIBILITY_TIMEOUT_SECONDS} s; reconciliation found "
            f"{reconciled.found}"
        ),
        last: "held back by the queue's visibility timeout instead of the back-off, then sent",
        refused: (
            f"{len(never)} left sending/claimed though the carrier refused them, indexed on "
            "their redelivery; reconciliation does not find them (asked for 24 h, then given "
            "up): never sent"
        ),
    }
    for row in rows:
        row_sids = [sid for sid in sids if row_of[sid] == row]
        Figures.of(
            f"sender, {row}",
            [items[sid] for sid in row_sids],
            crashes=rules[row].failed,
            dead_lettered=len(dead & set(row_sids)),
            duplicates=sum(max(submitted[text_of[s]] - 1, 0) for s in row_sids),
            note=notes[row],
            kind="aws faults",
        ).show()
    print(
        f"sender under AWS faults: {len(sids)} messages, {deliveries} deliveries, {jobs} jobs "
        f"from the scheduler, {aws_faults.attempts} failed attempts ({aws_faults.summary()})"
    )


def test_raw_requests_under_aws_faults_are_stored_once_sent_once_and_never_rejected(
    aws_faults,  # noqa: F811
    sender,
    simulator,
    tenant,
    aws_session,
    stack,
    monkeypatch,
):
    # Given raw send requests published straight to SendQueue
    rows = [
        "stored-message read throttled",
        "message write 5xx",
        "property read throttled",
        "claim throttled after the message was stored",
    ]
    records = []
    for n in range(FAULT_MESSAGES * len(rows)):
        request = {
            "PropertySid": tenant.property_sid,
            "From": FROM,
            "To": recipient(n),
            "Text": f"Raw request {n}",
        }
        records.append(_record(json.dumps(request), sender.queue_arn))
    sids = [derived_sid(MESSAGE_PREFIX, r["messageId"]) for r in records]
    row_of = {sid: rows[n // FAULT_MESSAGES] for n, sid in enumerate(sids)}
    keys = {row: [f"MESSAGE#{s}" for s in sids if row_of[s] == row] for row in rows}
    # and DynamoDB failing: the first read of a row's message, its write, the property's
    # read (one call per message of the row), the claim once the message is stored
    rules = {
        rows[0]: aws_faults.fail(
            "dynamodb", "GetItem", THROTTLED, where=first_calls(keys[rows[0]])
        ),
        rows[1]: aws_faults.fail("dynamodb", "PutItem", INTERNAL, where=first_calls(keys[rows[1]])),
        rows[2]: aws_faults.fail(
            "dynamodb", "GetItem", THROTTLED, where=pk_starts("PROPERTY#"), calls=FAULT_MESSAGES
        ),
        rows[3]: aws_faults.fail(
            "dynamodb", "UpdateItem", UNAVAILABLE, where=first_calls(keys[rows[3]], also=CLAIM)
        ),
    }

    # When the event source delivers them, and again what was not acknowledged
    redeliveries = Redeliveries(sender, monkeypatch)
    deliveries = redeliveries.run(records)
    aws_faults.stop()

    # Then each request was stored once, as the message its SQS message id names, and sent
    # once; none was stored rejected for a fault of ours
    items = message_items(aws_session, stack)
    assert sorted(items) == sorted(sids)
    assert {item["Status"] for item in items.values()} == {"sent"}
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert len(submitted) == len(sids) and set(submitted.values()) == {1}
    assert redeliveries.queue.dead_letters == {}
    for row, rule in rules.items():
        row_sids = [sid for sid in sids if row_of[sid] == row]
        assert rule.failed == FAULT_MESSAGES, row
        Figures.of(
            f"raw SendQueue request, {row}",
            [items[sid] for sid in row_sids],
            crashes=rule.failed,
            duplicates=0,
            note="delivered again, stored once, sent once; none rejected",
            kind="aws faults",
        ).show()
    print(
        f"raw requests under AWS faults: {len(sids)} requests, {deliveries} deliveries, "
        f"{aws_faults.attempts} failed attempts ({aws_faults.summary()})"
    )
