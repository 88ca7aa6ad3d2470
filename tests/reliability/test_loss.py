"""No message is silently dropped, whatever the carrier and DynamoDB do (issue #8, item 2).

SMSGW_RELIABILITY_MESSAGES messages (default 1,000) go through the real sender handler
against moto while the carrier refuses 30% of submissions with a 5xx, throttles 10% with a
429 (and a Retry-After), and leaves 3% without an answer (a read timeout or a dropped
connection), each decided per submission; and DynamoDB throttles: 15% of the sender's calls
are throttled once (botocore's standard retry mode retries them) and 2% on every attempt
(the retries are exhausted and the sender sees the error). The test plays the SQS event
source: a record the function did not acknowledge is delivered again, and after five
receives (the queue's maxReceiveCount) it moves to the dead-letter queue.

Every message must end in a final state, in the unknown-outcome state, or on the DLQ — and
the sender must back off a throttled record by its visibility, never by sleeping.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from smsgw import send_batch as sender_module
from smsgw.carriers.twilio import TwilioCarrier
from smsgw.logic.dispatch import Dispatcher
from smsgw_tools.simulators import handler as simulator_handler
from smsgw_tools.simulators.server import CarrierSimulator
from tests.reliability.aws_faults import aws_faults, drawn  # noqa: F401 - the fixture
from tests.reliability.conftest import MESSAGES, QueueModel
from tests.reliability.test_duplicates import chunks, message_items

CARRIER_FAULTS = {"5xx": 0.30, "429": 0.10, "timeout": 0.015, "drop": 0.015}
THROTTLED_ONCE = 0.15
THROTTLED_ALWAYS = 0.02
RETRY_AFTER_SECONDS = 30  # what the throttling carrier asks for: far longer than any invocation
READ_TIMEOUT_SECONDS = 1.0
CONCURRENT_INVOCATIONS = 3
FINAL = {"sent", "delivered", "undelivered", "failed", "rejected", "cancelled"}


class FaultyCarrier:
    """The real Twilio adapter; each submission goes to the healthy simulator or, with the
    configured probabilities, to a simulator stuck in one of its fault modes."""

    def __init__(self, healthy: Any, faulty: dict[str, CarrierSimulator], rng: random.Random):
        self.name = healthy.name
        self._healthy = healthy
        self._faulty = {
            mode: TwilioCarrier(
                sim.account_sid, sim.auth_token, sim.url, read_timeout=READ_TIMEOUT_SECONDS
            )
            for mode, sim in faulty.items()
        }
        self._rng = rng
        self._lock = threading.Lock()
        self.answers: Counter = Counter()

    def submit(self, sms):
        with self._lock:
            draw = self._rng.random()
        for mode, share in CARRIER_FAULTS.items():
            if draw < share:
                with self._lock:
                    self.answers[mode] += 1
                return self._faulty[mode].submit(sms)
            draw -= share
        with self._lock:
            self.answers["accepted"] += 1
        return self._healthy.submit(sms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._healthy, name)


@pytest.fixture
def faulty_simulators() -> Iterator[dict[str, CarrierSimulator]]:
    sims = {mode: CarrierSimulator(timeout_seconds=3).start() for mode in CARRIER_FAULTS}
    for mode, sim in sims.items():
        sim.set_fault(mode)
    yield sims
    for sim in sims.values():
        sim.stop()


def test_every_message_ends_final_unknown_or_dead_lettered_under_carrier_and_dynamodb_faults(
    aws_faults,  # noqa: F811
    faulty_simulators,
    sender,
    simulator,
    tenant,
    aws_session,
    stack,
    monkeypatch,
):
    # Given N accepted messages and a carrier and a DynamoDB that fail as described above
    sid_by_text, records = sender.accept(tenant.property_sid, MESSAGES)
    sid_by_message_id = {r["messageId"]: json.loads(r["body"])["MessageSid"] for r in records}
    monkeypatch.setattr(simulator_handler, "RETRY_AFTER_SECONDS", RETRY_AFTER_SECONDS)
    rng = random.Random(30)
    original = Dispatcher.carrier
    carriers: list[FaultyCarrier] = []

    def carrier(self, name):
        if not carriers:
            carriers.append(FaultyCarrier(original(self, name), faulty_simulators, rng))
        return carriers[0]

    monkeypatch.setattr(Dispatcher, "carrier", carrier)
    # The records here are not in moto's queue, so the visibility change itself is left
    # out (tests/integration/test_sender.py shows the record coming back after it).
    back_offs: list[tuple[str, int]] = []
    monkeypatch.setattr(
        sender_module, "_back_off", lambda record, delay: back_offs.append((record, delay))
    )
    # Every sleep anyone takes while the sender runs (botocore's retries, the sender's own
    # persist back-off): the proof that a throttled record is not waited out in-process
    sleeps: list[float] = []
    real_sleep = time.sleep

    def recorded_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", recorded_sleep)
    queue = QueueModel()
    invocations: list[float] = []

    def invoke(batch):
        delivered = [queue.deliver(record) for record in batch]
        started = time.monotonic()
        failures = sender.invoke(delivered)["batchItemFailures"]
        invocations.append(time.monotonic() - started)
        return queue.settle(batch, {f["itemIdentifier"] for f in failures})

    # When the event source delivers them, and delivers again what was not acknowledged
    started = time.monotonic()
    # DynamoDB throttles a call on every attempt, or once (botocore's retry goes through)
    throttle = random.Random(5)
    always = aws_faults.fail("dynamodb", None, where=drawn(throttle, THROTTLED_ALWAYS))
    once = aws_faults.fail(
        "dynamodb", None, where=drawn(throttle, THROTTLED_ONCE / (1 - THROTTLED_ALWAYS)), attempts=1
    )
    pending = records
    with ThreadPoolExecutor(max_workers=CONCURRENT_INVOCATIONS) as pool:
        while pending:
            pending = [r for again in pool.map(invoke, chunks(pending)) for r in again]
    aws_faults.stop()
    elapsed = time.monotonic() - started

    # Then each message is final, in the unknown-outcome state, or on the DLQ: none dropped
    items = message_items(aws_session, stack)
    final = {sid for sid, item in items.items() if item["Status"] in FINAL}
    unknown = {
        sid
        for sid, item in items.items()
        if item["Status"] == "sending" and item.get("SubmitState") in ("claimed", "unknown")
    }
    dead = {sid_by_message_id[message_id] for message_id in queue.dead_letters}
    everything = set(sid_by_text.values())
    assert len(items) == MESSAGES
    assert final | unknown | dead == everything
    assert set(queue.acknowledged) | set(queue.dead_letters) == set(sid_by_message_id)
    assert all(items[sid]["Status"] for sid in dead)  # its status is on the message
    # ... and the carrier took no message twice
    accepted = Counter(s["Body"] for s in simulator.submissions())
    assert not accepted or max(accepted.values()) == 1
    # ... and a throttled record was held back by its visibility for the Retry-After,
    # while nothing slept anywhere near that long and no invocation lasted that long
    # (wall time only bounds the claim itself: a loaded machine must not decide it)
    carrier = carriers[0]
    assert carrier.answers["429"] > 0 and carrier.answers["5xx"] > 0
    assert sum(1 for _, delay in back_offs if delay == RETRY_AFTER_SECONDS) > 0
    assert {r["messageId"] for r, _ in back_offs} <= set(sid_by_message_id)
    assert sleeps and max(sleeps) < READ_TIMEOUT_SECONDS * 5 < RETRY_AFTER_SECONDS
    assert max(invocations) < RETRY_AFTER_SECONDS
    assert always.failed > 0 and once.failed > 0
    statuses = Counter(items[sid]["Status"] for sid in final)
    # A DynamoDB write that failed after the carrier answered leaves the claim in place
    claimed = {sid for sid in unknown if items[sid]["SubmitState"] == "claimed"}
    taken = {sid_by_text[body] for body in accepted} & claimed
    print(
        f"\nloss: {MESSAGES} messages, {sum(queue.receives.values())} deliveries in "
        f"{len(invocations)} invocations (longest {max(invocations):.2f} s), {elapsed:.1f} s, "
        f"{len(sleeps)} sleeps (longest {max(sleeps):.2f} s); "
        f"carrier answers {dict(carrier.answers)}; DynamoDB calls throttled {always.failed} always, {once.failed} once; "
        f"final {dict(statuses)}, unknown outcome {len(unknown)} ({len(unknown - claimed)} "
        f"carrier timeouts, {len(claimed)} claims left by a failed write, {len(taken)} of them "
        f"accepted by the carrier), "
        f"dead-lettered {len(dead)} ({len(dead - final - unknown)} not otherwise final); "
        f"back-offs {len(back_offs)} ({sum(1 for _, d in back_offs if d == RETRY_AFTER_SECONDS)}"
        f" by Retry-After)"
    )
