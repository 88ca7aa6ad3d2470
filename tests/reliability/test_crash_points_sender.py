"""Crash point of the sender (docs/reliability.md, the boundary map): killed after the
carrier accepted a submission and before the outcome write, in the duplicates suite's style.

The message stays `sending` with SubmitState `claimed`. Its job was never acknowledged, so
SQS delivers the whole batch again after the queue's visibility timeout (180 s; the
sender's clock is moved on, not slept): the job finds a claim older than 60 s with no
outcome and indexes it for reconciliation instead of submitting it again. Reconciliation,
after its grace period, finds the message at the carrier and records it `sent`.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from smsgw.carriers.twilio import TwilioCarrier
from smsgw.logic.reconcile import GRACE_SECONDS
from smsgw.models.send_job import STALE_CLAIM_SECONDS
from tests.reliability.conftest import QueueModel
from tests.reliability.crash_harness import (
    CRASH_MESSAGES,
    Boundary,
    Figures,
    Killed,
    end_of,
    outcome,
)
from tests.reliability.test_duplicates import BATCH, chunks, message_items

MESSAGES = CRASH_MESSAGES * 5
KILL_EVERY = BATCH  # one message in each batch
VISIBILITY_TIMEOUT_SECONDS = 180  # SendQueue's (template.yaml)


def test_a_sender_killed_after_the_carrier_accepted_never_submits_again_and_is_reconciled(
    sender, simulator, tenant, aws_session, stack, monkeypatch
):
    from smsgw import minute_tick, send_batch

    # Given N accepted messages, and a sender that dies right after the carrier accepted
    # one in ten of them, before it records the outcome: one in each batch, so that the
    # kill, which ends its invocation, never leaves another victim of the batch unstarted
    # (that one would first be submitted, and killed, on the redelivery)
    sid_by_text, records = sender.accept(tenant.property_sid, MESSAGES)
    victims = {
        json.loads(batch[n % len(batch)]["body"])["MessageSid"]
        for n, batch in enumerate(chunks(records))
    }
    assert len(victims) == MESSAGES // KILL_EVERY
    kill = Boundary(
        monkeypatch,
        TwilioCarrier,
        "submit",
        lambda carrier, sms: sms.message_sid if sms.message_sid in victims else None,
        after=True,
    )
    later = {"seconds": 0}
    monkeypatch.setattr(send_batch.dispatcher(), "_clock", lambda: time.time() + later["seconds"])
    queue = QueueModel()

    def invoke_all(batches):
        again = []
        for batch in batches:
            delivered = [queue.deliver(record) for record in batch]
            try:
                failed = {
                    f["itemIdentifier"] for f in sender.invoke(delivered)["batchItemFailures"]
                }
            except Killed:
                end_of(send_batch._pool)
                failed = {record["messageId"] for record in batch}  # the batch comes back
            again += queue.settle(batch, failed)
        return again

    # When the sender handles every record, and SQS delivers the killed invocations'
    # batches again after the visibility timeout
    again = invoke_all(chunks(records))
    redelivered = len(again)
    later["seconds"] = VISIBILITY_TIMEOUT_SECONDS + 1
    assert invoke_all(chunks(again)) == []

    # Then every message reached the carrier once; the killed ones wait in the
    # unknown-outcome state with their reconciliation entry
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert set(submitted.values()) == {1} and len(submitted) == MESSAGES
    items = message_items(aws_session, stack)
    unknown = {sid for sid, item in items.items() if outcome(item) == "unknown"}
    assert kill.crashes == len(victims) and unknown == victims
    assert all(items[sid]["SubmitState"] == "claimed" for sid in victims)
    assert all(items[sid]["GSI3PK"].startswith("UNSETTLED#") for sid in victims)
    assert VISIBILITY_TIMEOUT_SECONDS > STALE_CLAIM_SECONDS
    figures = Figures.of(
        "sender killed after the carrier accepted, before the outcome write",
        items.values(),
        crashes=kill.crashes,
        dead_lettered=len(queue.dead_letters),
        duplicates=sum(count - 1 for count in submitted.values()),
    )

    # And reconciliation, after its grace period, finds each at the carrier: `sent`, with
    # the carrier's id, and still submitted once
    minute_tick.reconciler.cache_clear()
    result = minute_tick.run_reconcile(time.time() + later["seconds"] + GRACE_SECONDS + 1)
    assert result.found == len(victims)
    carrier_sid = {s["Body"]: s["sid"] for s in simulator.submissions()}
    text_by_sid = {sid: text for text, sid in sid_by_text.items()}
    items = message_items(aws_session, stack)
    for sid in victims:
        assert (items[sid]["Status"], items[sid]["SubmitState"]) == ("sent", "done")
        assert items[sid]["CarrierSid"] == carrier_sid[text_by_sid[sid]]
        assert "GSI3PK" not in items[sid]
    assert len(simulator.submissions()) == MESSAGES
    figures.note = (
        f"{redelivered} records redelivered after {VISIBILITY_TIMEOUT_SECONDS} s; "
        f"reconciliation then found {result.found} at the carrier (all {MESSAGES} final)"
    )
    figures.show()
    assert (figures.stuck, figures.duplicates, figures.unknown) == (0, 0, len(victims))
