"""AWS faults on the API's send (docs/reliability.md, "AWS faults"), through the real
authorizer and API handlers against moto: DynamoDB and SQS calls that fail after
botocore's own retries (aws_faults.py).

The caller must get a clean error: a 503 (29002, `Retry-After`) when DynamoDB or SQS
throttled us, a 500 (29001) for their 5xx, in the API's error format and naming nothing
internal. Whatever the request left behind must end as the caller was told: nothing
stored, or stored `failed` and never sent, or (the one documented exception) queued by
its recovery entry and sent once. With an Idempotency-Key the customer's retries must end
in one message, sent once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from smsgw.logic import send_request_use_case
from smsgw.logic.send_request_use_case import IDEMPOTENCY_LOCK_SECONDS
from tests.integration.conftest import api, functions  # noqa: F401 - fixtures reused
from tests.reliability.aws_faults import (
    FAULT_MESSAGES,
    INTERNAL,
    THROTTLED,
    UNAVAILABLE,
    aws_faults,  # noqa: F401 - the fixture
    pk_starts,
    to_queue,
)
from tests.reliability.conftest import FROM, recipient
from tests.reliability.crash_harness import Figures, drain_send_queue, messages_by_text
from tests.reliability.test_crash_points_replies import tick

BUSY, INTERNAL_ERROR, IN_PROGRESS = 29002, 29001, 23003
INTERNAL_WORDS = (
    "throttl",
    "provisioned",
    "dynamodb",
    "sqs",
    "botocore",
    "amazonaws",
    "clienterror",
    "traceback",
    "injected",
    "smsgw-local",
)


def assert_clean_error(response, status: int, code: int) -> None:
    """The API's error format, the documented status and code, no internal detail."""
    assert response.status == status, response.body
    assert list(response.body) == ["Error"]
    assert set(response.body["Error"]) == {"Code", "Message", "Parameter"}
    assert response.body["Error"]["Code"] == code
    text = json.dumps(response.body).lower()
    assert not [word for word in INTERNAL_WORDS if word in text], text
    if status == 503:
        assert response.headers.get("Retry-After") == "1"


def body(row: str, n: int) -> dict[str, str]:
    return {"From": FROM, "To": recipient(n), "Text": f"{row} {n}"}


def run_sender(functions, aws_session, stack) -> int:  # noqa: F811
    return drain_send_queue(
        lambda batch: functions.invoke("sender", {"Records": batch}), aws_session, stack
    )


# (row, fault rules, the answer's status and code, what the request leaves stored)
ROWS = {
    "message write throttled": (
        [("dynamodb", "PutItem", THROTTLED, pk_starts("MESSAGE#"))],
        (503, BUSY),
        None,
    ),
    "property read 5xx": (
        [("dynamodb", "GetItem", INTERNAL, pk_starts("PROPERTY#"))],
        (500, INTERNAL_ERROR),
        None,
    ),
    "SendQueue throttled": (
        [("sqs", "SendMessage", THROTTLED, to_queue("SendQueue"))],
        (503, BUSY),
        "failed",
    ),
    "SendQueue 5xx": (
        [("sqs", "SendMessage", UNAVAILABLE, to_queue("SendQueue"))],
        (500, INTERNAL_ERROR),
        "failed",
    ),
    "SendQueue 5xx, then the failed write throttled": (
        [
            ("sqs", "SendMessage", INTERNAL, to_queue("SendQueue")),
            ("dynamodb", "UpdateItem", THROTTLED, pk_starts("MESSAGE#")),
        ],
        (503, BUSY),
        "queued",
    ),
}


def test_an_api_send_hit_by_aws_faults_answers_a_clean_error_and_sends_nothing_unasked(
    aws_faults,  # noqa: F811
    api,  # noqa: F811
    functions,  # noqa: F811
    simulator,
    aws_session,
    stack,
):
    # Given requests, each row's while its faults stand (and the authorizer's own read)
    answers: dict[str, list] = {}
    failed_calls: dict[str, int] = {}
    for row, (rules, _, _) in ROWS.items():
        before = aws_faults.calls_failed
        for service, operation, fault, where in rules:
            aws_faults.fail(service, operation, fault, where=where)
        answers[row] = [api.send(body(row, n)) for n in range(FAULT_MESSAGES)]
        aws_faults.stop()
        failed_calls[row] = aws_faults.calls_failed - before
    aws_faults.fail("dynamodb", "GetItem", THROTTLED, where=pk_starts("ACCOUNT#"))
    for n in range(FAULT_MESSAGES):
        with pytest.raises(ClientError):  # API Gateway answers its own 500 (docs/errors.md)
            api.send(body("authorizer", n))
    aws_faults.stop()
    authorizer_faults = aws_faults.failed[("dynamodb", "GetItem", THROTTLED)]

    # When the sender handles SendQueue and the scheduler ticks once a simulated minute for
    # seven minutes (a message left queued is released by its recovery entry)
    jobs = run_sender(functions, aws_session, stack)
    started, released = int(time.time()), 0
    for minute in range(1, 8):
        released += tick(functions, stack, started + 60 * minute)
        jobs += run_sender(functions, aws_session, stack)

    # Then each caller got a clean error, and what its request left ended as it was told
    stored = messages_by_text(aws_session, stack)
    submitted = Counter(s["Body"] for s in simulator.submissions())
    assert not [t for t in stored if t.startswith("authorizer")]
    for row, (_, (status, code), left) in ROWS.items():
        texts = [body(row, n)["Text"] for n in range(FAULT_MESSAGES)]
        for response in answers[row]:
            assert_clean_error(response, status, code)
        items = [stored.get(text, [None])[0] for text in texts]
        if left is None:
            assert items == [None] * FAULT_MESSAGES
            assert [submitted[t] for t in texts] == [0] * FAULT_MESSAGES
        elif left == "failed":
            assert {(i["Status"], int(i["ErrorCode"])) for i in items} == {("failed", 29001)}
            assert not any("GSI3PK" in i for i in items)
            assert [submitted[t] for t in texts] == [0] * FAULT_MESSAGES
        else:  # queued with its recovery entry: sent once, about 5 minutes late
            assert {i["Status"] for i in items} == {"sent"}
            assert [submitted[t] for t in texts] == [1] * FAULT_MESSAGES
        Figures.of(
            f"API without Idempotency-Key, {row}",
            [i for i in items if i is not None],
            crashes=failed_calls[row],
            duplicates=sum(max(submitted[t] - 1, 0) for t in texts),
            note=(
                f"{len(answers[row])} answered {status} ({code}); "
                + ("nothing stored" if left is None else f"stored {left}")
                + (f", {submitted.total()} submissions" if left == "queued" else "")
            ),
            kind="aws faults",
        ).show()
    assert released == FAULT_MESSAGES  # only the row whose failed write failed
    Figures(
        "authorizer, account read throttled",
        FAULT_MESSAGES,
        authorizer_faults,
        note="the authorizer failed (API Gateway's own 500); nothing stored",
        kind="aws faults",
    ).show()


class Clock:
    """The send use case's clock, set by the test (the idempotency lock is 30 s)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


# (row, fault rules on the first request; whether the customer's retry right away is told
# the request is still in progress (the key kept, as the message may still be sent))
KEYED_ROWS = {
    "key claim throttled": ([("dynamodb", "PutItem", THROTTLED, pk_starts("IDEMPOTENCY#"))], False),
    "message write throttled": ([("dynamodb", "PutItem", THROTTLED, pk_starts("MESSAGE#"))], False),
    "message write and the key's release throttled": (
        [
            ("dynamodb", "PutItem", THROTTLED, pk_starts("MESSAGE#")),
            ("dynamodb", "DeleteItem", THROTTLED, pk_starts("IDEMPOTENCY#")),
        ],
        True,
    ),
    "SendQueue throttled": ([("sqs", "SendMessage", THROTTLED, to_queue("SendQueue"))], False),
    "SendQueue 5xx, then the failed write throttled": (
        [
            ("sqs", "SendMessage", UNAVAILABLE, to_queue("SendQueue")),
            ("dynamodb", "UpdateItem", THROTTLED, pk_starts("MESSAGE#")),
        ],
        True,
    ),
    "the key's answer throttled": (
        [("dynamodb", "UpdateItem", THROTTLED, pk_starts("IDEMPOTENCY#"))],
        True,
    ),
}


def test_a_keyed_send_hit_by_aws_faults_is_retried_into_one_message_sent_once(
    aws_faults,  # noqa: F811
    api,  # noqa: F811
    functions,  # noqa: F811
    simulator,
    aws_session,
    stack,
    monkeypatch,
):
    # The requests are made a while ago, so that the retries after the lock are still in
    # the past for the sender's clock (it claims only what is due).
    t0 = time.time() - 300
    clock = Clock(t0)
    monkeypatch.setattr(send_request_use_case, "time", SimpleNamespace(time=clock.time))

    def send(row: str, n: int):
        key = {"Idempotency-Key": f"{row}-{n}"}
        return api.send(body(row, n), headers=key)

    # Given requests with an Idempotency-Key, each row's while its faults stand
    failed_calls: dict[str, int] = {}
    for row, (rules, _) in KEYED_ROWS.items():
        before = aws_faults.calls_failed
        for service, operation, fault, where in rules:
            aws_faults.fail(service, operation, fault, where=where)
        for n in range(FAULT_MESSAGES):
            answer = send(row, n)
            assert answer.status in (500, 503)
            assert_clean_error(answer, answer.status, BUSY if answer.status == 503 else 29001)
        aws_faults.stop()
        failed_calls[row] = aws_faults.calls_failed - before

    # When the customer retries right away, once more after the lock, and a third time
    clock.now = t0 + 1
    waited: Counter[str] = Counter()
    for row, (_, kept) in KEYED_ROWS.items():
        for n in range(FAULT_MESSAGES):
            answer = send(row, n)
            if kept:
                assert_clean_error(answer, 409, IN_PROGRESS)
                waited[row] += 1
            else:
                assert answer.status == 200, (row, answer.body)
    clock.now = t0 + IDEMPOTENCY_LOCK_SECONDS + 1
    answers: dict[tuple[str, int], str] = {}
    for row in KEYED_ROWS:
        for n in range(FAULT_MESSAGES):
            answer = send(row, n)
            assert answer.status == 200, (row, answer.body)
            again = send(row, n)
            assert (again.status, again.body) == (200, answer.body)
            answers[(row, n)] = answer.body["Message"]["MessageSid"]
    # and the sender handles SendQueue
    jobs = run_sender(functions, aws_session, stack)

    # Then each key's answer names one message, submitted once; nothing else was sent
    stored = messages_by_text(aws_session, stack)
    submitted = Counter(s["Body"] for s in simulator.submissions())
    for row in KEYED_ROWS:
        texts = [body(row, n)["Text"] for n in range(FAULT_MESSAGES)]
        named = [stored[text] for text in texts]
        live = [[i for i in items if i["Status"] != "failed"] for items in named]
        assert [len(items) for items in live] == [1] * FAULT_MESSAGES, row
        assert [items[0]["PK"].removeprefix("MESSAGE#") for items in live] == [
            answers[(row, n)] for n in range(FAULT_MESSAGES)
        ]
        assert [submitted[t] for t in texts] == [1] * FAULT_MESSAGES, row
        Figures.of(
            f"API with Idempotency-Key, {row}",
            [items[0] for items in live],
            crashes=failed_calls[row],
            duplicates=sum(submitted[t] - 1 for t in texts),
            note=(
                f"first answers 5xx; {waited[row]} retries told in progress (409), then "
                f"200; {sum(len(n) - len(lv) for n, lv in zip(named, live, strict=True))} "
                f"messages left failed (never sent); {jobs} SendQueue jobs in all"
            ),
            kind="aws faults",
        ).show()
    assert submitted.total() == len(KEYED_ROWS) * FAULT_MESSAGES
    # ... and nothing is left for the scheduler to release twice
    waiting = [i for items in stored.values() for i in items if "GSI3PK" in i]
    assert waiting == []
