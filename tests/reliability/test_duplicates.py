"""Exactly one carrier submission per message, whatever SQS and Lambda do (issue #8, item 1).

Over SMSGW_RELIABILITY_MESSAGES messages (default 1,000), the real sender handler runs
against moto and the carrier simulator while every record is delivered four times (the
original and three redeliveries), each record is in two sender invocations at once (a
visibility timeout expiring mid-batch), whole batches are delivered twice concurrently, and
the sender "dies" after its claim and before the carrier call for a share of the messages.
Each message must reach the simulator exactly once, or end in the documented
unknown-outcome state (`sending`, SubmitState `claimed`) having reached it never.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smsgw.logic.dispatch import Dispatcher
from tests.reliability.conftest import MESSAGES, QueueModel

KILL_SHARE = 0.05
CONCURRENT_INVOCATIONS = 4
CARRIER_LATENCY_SECONDS = 0.02  # long enough for concurrent invocations to overlap
BATCH = 10


class SenderKilled(BaseException):
    """The execution environment dying mid-record (timeout, out of memory). Not an
    Exception: nothing in the sender may catch it, just as nothing survives a kill."""


class KillBeforeSubmit:
    """The real carrier adapter, except that the sender dies just before submitting the
    chosen messages (their claim is already written)."""

    def __init__(self, carrier: Any, victims: set[str], killed: set[str]) -> None:
        self._carrier = carrier
        self._victims = victims
        self._killed = killed
        self.name = carrier.name

    def submit(self, sms):
        if sms.message_sid in self._victims:
            self._victims.discard(sms.message_sid)  # a second call would reach the carrier
            self._killed.add(sms.message_sid)
            raise SenderKilled(sms.message_sid)
        return self._carrier.submit(sms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._carrier, name)


def invoke_all(sender, queue: QueueModel, batches, concurrency: int) -> list[dict[str, Any]]:
    """Run the sender on every batch, `concurrency` invocations at a time, as the event
    source would; returns the records SQS would deliver again."""

    def invoke(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        delivered = [queue.deliver(record) for record in batch]
        try:
            failures = sender.invoke(delivered)["batchItemFailures"]
            failed = {f["itemIdentifier"] for f in failures}
        except SenderKilled:
            failed = {record["messageId"] for record in batch}  # the whole batch comes back
        return queue.settle(batch, failed)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return [record for again in pool.map(invoke, batches) for record in again]


def chunks(records: list[dict[str, Any]], size: int = BATCH) -> list[list[dict[str, Any]]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


def message_items(aws_session, stack) -> dict[str, dict[str, Any]]:
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    items, start = [], {}
    while True:  # a test may scan; the product never does
        page = table.scan(**start)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    return {i["PK"].removeprefix("MESSAGE#"): i for i in items if i.get("Type") == "Message"}


def test_every_message_reaches_the_carrier_at_most_once_under_redelivery_races_and_kills(
    sender, simulator, tenant, aws_session, stack, monkeypatch
):
    # Given N accepted messages, one SQS record each, and a sender that dies after its
    # claim for a share of them
    started = time.monotonic()
    sid_by_text, records = sender.accept(tenant.property_sid, MESSAGES)
    rng = random.Random(8)
    victims = set(rng.sample(sorted(sid_by_text.values()), int(MESSAGES * KILL_SHARE)))
    killed: set[str] = set()
    original = Dispatcher.carrier
    monkeypatch.setattr(
        Dispatcher,
        "carrier",
        lambda self, name: KillBeforeSubmit(original(self, name), victims, killed),
    )
    simulator.set_latency(CARRIER_LATENCY_SECONDS)
    queue = QueueModel()

    # When each record is in two invocations at once (its visibility timeout expired while
    # the first was still working: batches [0..9] and [5..14] run side by side) ...
    shifted = records[BATCH // 2 :] + records[: BATCH // 2]
    overlapping = [b for pair in zip(chunks(records), chunks(shifted), strict=True) for b in pair]
    again = invoke_all(sender, queue, overlapping, CONCURRENT_INVOCATIONS)
    # ... then whole batches are delivered twice, concurrently, in a new order ...
    rng.shuffle(records)
    duplicated = [b for batch in chunks(records) for b in (batch, list(batch))]
    again += invoke_all(sender, queue, duplicated, CONCURRENT_INVOCATIONS)
    # ... and whatever was not acknowledged (the killed invocations' batches) comes back
    while again:
        again = invoke_all(sender, queue, chunks(again), CONCURRENT_INVOCATIONS)
    elapsed = time.monotonic() - started

    # Then every message reached the carrier once, or never and waits in the
    # unknown-outcome state; none twice
    submitted = Counter(sid_by_text[s["Body"]] for s in simulator.submissions())
    items = message_items(aws_session, stack)
    sent = {sid for sid, item in items.items() if item["Status"] == "sent"}
    unknown = {
        sid
        for sid, item in items.items()
        if item["Status"] == "sending" and item.get("SubmitState") == "claimed"
    }
    assert len(items) == MESSAGES
    assert all(queue.receives[r["messageId"]] >= 4 for r in records)
    assert max(submitted.values()) == 1
    assert set(submitted) == sent
    assert killed and unknown == killed and not (unknown & set(submitted))
    assert sent | unknown == set(sid_by_text.values())
    assert all(items[sid]["CarrierSid"] for sid in sent)
    print(
        f"\nduplicates: {MESSAGES} messages, {sum(queue.receives.values())} deliveries, "
        f"{len(submitted)} submitted once, 0 twice, {len(unknown)} killed after the claim "
        f"(unknown outcome, never submitted), {elapsed:.1f} s"
    )
