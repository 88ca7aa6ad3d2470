"""Crash points of the API's send with an Idempotency-Key (docs/reliability.md, the
boundary map): the function killed after the key's claim and before the message write,
after the message write and before the SendQueue send, and after the SendQueue send and
before the answer was kept on the key (the caller saw a timeout). The customer retries
with the same key: while the dead request's lock holds (30 s) the retry is told to wait; after it, the
retry takes the claim over with the same MessageSid and the message is sent once.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from smsgw.dal.idempotency import IdempotencyStore
from smsgw.dal.send_queue import SendQueue
from smsgw.errors import ErrorCode, SmsGatewayError
from smsgw.logic.send_request_use_case import IDEMPOTENCY_LOCK_SECONDS
from tests.reliability.conftest import FROM, recipient
from tests.reliability.crash_harness import (
    CRASH_MESSAGES,
    Boundary,
    Figures,
    Killed,
    drain_send_queue,
    messages_by_text,
)

BOUNDARIES = {
    "claim-write": "after the key claim, before the message write",
    "write-queue": "after the message write, before the SendQueue send",
    "queue-answer": "after the SendQueue send, before the key's answer was kept",
}


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_an_api_killed_mid_request_answers_the_same_key_once_and_sends_once(
    boundary, sender, tenant, simulator, stack, aws_session, monkeypatch
):
    from smsgw import minute_tick, services

    use_case = services.send_requests()
    prop = services.tenants().get_property(tenant.property_sid)
    dying = {"on": True}
    where = {  # the method whose call is the boundary, and whether it is made first
        "claim-write": (IdempotencyStore, "claim", True),
        "write-queue": (SendQueue, "enqueue", False),
        "queue-answer": (IdempotencyStore, "complete", False),
    }
    owner, name, after = where[boundary]
    kill = Boundary(
        monkeypatch,
        owner,
        name,
        lambda store, key, *args, **kwargs: key if dying["on"] else None,
        after=after,
    )
    # The requests are made a while ago, so that the retries after the lock are still in the
    # past for the sender's clock (it claims only what is due).
    t0 = time.time() - 120

    def send(n: int, now: float):
        text = f"Keyed crash-point message {n}"
        return use_case.accept(
            property_sid=prop.property_sid,
            account_sid=prop.account_sid,
            account_sms_enabled=True,
            read_body=lambda: {"From": FROM, "To": recipient(n), "Text": text},
            idempotency_key=f"order-{n}",
            now=now,
        )

    # Given N requests with an Idempotency-Key, each killed at the boundary
    for n in range(CRASH_MESSAGES):
        with pytest.raises(Killed):
            send(n, t0)
    dying["on"] = False
    assert kill.crashes == CRASH_MESSAGES

    # When the customer retries within the lock, the request is still in progress ...
    for n in range(CRASH_MESSAGES):
        with pytest.raises(SmsGatewayError) as waiting:
            send(n, t0 + IDEMPOTENCY_LOCK_SECONDS - 1)
        assert waiting.value.code == ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS
    # ... and after it the retry does the work, and a third attempt replays its answer
    answers = {}
    for n in range(CRASH_MESSAGES):
        retried = send(n, t0 + IDEMPOTENCY_LOCK_SECONDS + 1)
        replayed = send(n, t0 + IDEMPOTENCY_LOCK_SECONDS + 2)
        assert (retried.status_code, retried.replayed, replayed.replayed) == (200, False, True)
        assert replayed.body == retried.body
        answers[n] = retried.body["Message"]["MessageSid"]
    # the sender handles what reached SendQueue, and the scheduler ticks for ten simulated
    # minutes (a message left by the kill before the queue send has its recovery entry too;
    # one killed after it has two jobs, the first and the retry's)
    jobs = drain_send_queue(sender.invoke, aws_session, stack)
    started = int(time.time())
    released = 0
    for minute in range(1, 11):
        released += minute_tick.run_tick(f"tick-{minute}", now=started + 60 * minute).released
        jobs += drain_send_queue(sender.invoke, aws_session, stack)

    # Then each key made one message, named in its answer, and it was submitted once
    stored = messages_by_text(aws_session, stack)
    texts = [f"Keyed crash-point message {n}" for n in range(CRASH_MESSAGES)]
    assert [len(stored.get(text, [])) for text in texts] == [1] * CRASH_MESSAGES
    assert [stored[t][0]["PK"].removeprefix("MESSAGE#") for t in texts] == list(answers.values())
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert [submitted[text] for text in texts] == [1] * CRASH_MESSAGES
    figures = Figures.of(
        f"API with Idempotency-Key, killed {BOUNDARIES[boundary]}",
        [stored[text][0] for text in texts],
        crashes=kill.crashes,
        duplicates=sum(count - 1 for count in submitted.values()),
        note=f"{jobs} SendQueue jobs, {released} released by the scheduler",
    )
    figures.show()
    assert (figures.final, figures.stuck, figures.duplicates) == (CRASH_MESSAGES, 0, 0)
