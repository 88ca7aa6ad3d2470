"""AWS faults on carrier receipts and their webhooks (docs/reliability.md, "AWS faults"):
DynamoDB and SQS calls that fail after botocore's own retries (aws_faults.py), through the
real webhooks and notifier handlers against moto.

A receipt callback hit by a fault must answer the carrier a 500 in the error format (it
retries). The notifier reads the table's stream (Lambda's DynamoDB event source, with
ReportBatchItemFailures) and CallbackQueue (its SQS event source) again until each record
is handled, both played by the test. Every receipt webhook due must reach the customer,
a repeat only with its one `webhook-id` and body, and a repeat only where a record was read
again after its attempt was made.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from smsgw.dal import callback_store, stream_records
from smsgw_tools.local.sink import WebhookSink
from tests.integration.conftest import api, functions, table_stream  # noqa: F401 - fixtures
from tests.integration.test_notifier import attempts_of, callback_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event
from tests.reliability.aws_faults import (
    FAULT_MESSAGES,
    THROTTLED,
    UNAVAILABLE,
    aws_faults,  # noqa: F401 - the fixture
    first_calls,
    pk_starts,
    to_queue,
    updating,
)
from tests.reliability.conftest import FROM, QueueModel, recipient
from tests.reliability.crash_harness import (
    Figures,
    drain_send_queue,
    queue_until_handled,
    stream_until_handled,
    table_items,
)

BASE = "http://127.0.0.1:9"  # the simulator's own receipts go nowhere: the test sends them
GROUPS = 5


@pytest.fixture
def stack(aws_session):
    return deploy_once(
        aws_session,
        parameters={"PublicBaseUrl": BASE, "WebhookAllowedNetworks": "127.0.0.0/8,::1/128"},
    )


@pytest.fixture
def sink():
    with WebhookSink() as running:
        yield running


@pytest.fixture
def other_sink():
    """A second customer endpoint, whose answers a test programs apart from the first."""
    with WebhookSink() as running:
        yield running


class Endpoint:
    """A sink and which of its requests it answered 500 (it answers them in the order they
    arrive)."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.refused: set[int] = set()

    def refuse_next(self, count: int) -> None:
        start = len(self.sink.requests())
        self.refused |= set(range(start, start + count))
        self.sink.answer_with(500, count)

    def requests(self) -> list[tuple[dict, bool]]:
        """Each request, and whether it was answered 2xx."""
        return [(r, i not in self.refused) for i, r in enumerate(self.sink.requests())]


def delivered(*endpoints: Endpoint) -> dict[str, list[dict]]:
    """The webhook requests answered 2xx, by MessageSid."""
    found: dict[str, list[dict]] = defaultdict(list)
    for endpoint in endpoints:
        for request, answered in endpoint.requests():
            if answered:
                found[json.loads(request["body"])["MessageSid"]].append(request)
    return found


def test_receipts_and_their_webhooks_under_aws_faults_lose_none_and_repeat_only_by_id(
    aws_faults,  # noqa: F811
    api,  # noqa: F811
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    simulator,
    sink,
    other_sink,
    aws_session,
    stack,
    monkeypatch,
):
    # The test does not wait out a retry's delay: CallbackQueue's jobs are visible at once.
    monkeypatch.setattr(callback_store, "MAX_DELAY_SECONDS", 0)
    endpoint, other = Endpoint(sink), Endpoint(other_sink)

    def notifier(batch):
        return functions.invoke("notifier", {"Records": batch})

    # Given messages with a receipt webhook, sent (a group of them per row; group 3's
    # webhook goes to another endpoint of the customer's)
    sids = []
    for n in range(FAULT_MESSAGES * GROUPS):
        uri = other_sink.url if n // FAULT_MESSAGES == 3 else sink.url
        body = {
            "From": FROM,
            "To": recipient(n),
            "Text": f"Receipt under faults {n}",
            "DeliveryReceiptWebhookUri": f"{uri}/hooks",
        }
        response = api.send(body)
        assert response.status == 200, response.body
        sids.append(response.body["Message"]["MessageSid"])
    group = {sid: n // FAULT_MESSAGES for n, sid in enumerate(sids)}
    members = [[sid for sid in sids if group[sid] == g] for g in range(GROUPS)]
    drain_send_queue(
        lambda batch: functions.invoke("sender", {"Records": batch}), aws_session, stack
    )
    table_stream.records()  # what the stream holds so far calls for no webhook

    # When their final receipts arrive, DynamoDB failing the receipt's write of groups 2 and
    # 4 (throttled, unavailable), and the carrier retries a callback that got no 2xx
    receipt_write = updating("#s = :s")
    rules = {
        "receipt write throttled": aws_faults.fail(
            "dynamodb",
            "UpdateItem",
            THROTTLED,
            where=first_calls((f"MESSAGE#{s}" for s in members[2]), also=receipt_write),
        ),
        "receipt write 5xx": aws_faults.fail(
            "dynamodb",
            "UpdateItem",
            UNAVAILABLE,
            where=first_calls((f"MESSAGE#{s}" for s in members[4]), also=receipt_write),
        ),
    }
    refused_receipts = []
    for submission in simulator.submissions():
        event = twilio_receipt_event(
            submission["StatusCallback"],
            receipt_form(submission["sid"], "delivered"),
            simulator.auth_token,
        )
        answer = functions.invoke("webhooks", event)
        if answer["statusCode"] != 200:
            refused_receipts.append(answer)
            answer = functions.invoke("webhooks", event)  # the carrier's retry
        assert answer["statusCode"] == 200
    aws_faults.stop()
    records = table_stream.records()
    assert len(records) == len(sids)
    by_group = defaultdict(list)
    for record in records:
        by_group[group[stream_records.item_key(record).removeprefix("MESSAGE#")]].append(record)
    batch_size = table_stream.trigger.batch_size

    # and the notifier reads the stream, a group's records in a batch of their own: group
    # 2's customer answers 500 and SQS refuses the retry job; groups 3 and 4's customer
    # answers 500 and their retry jobs are queued; DynamoDB fails group 0's attempt record
    # (after the webhook was made) and group 1's webhook secret read (before it)
    endpoint.refuse_next(FAULT_MESSAGES)
    rules["the customer's 500, then the retry job's queue send throttled"] = aws_faults.fail(
        "sqs", "SendMessage", THROTTLED, where=to_queue("CallbackQueue"), calls=FAULT_MESSAGES
    )
    stream_retries = {2: stream_until_handled(notifier, by_group[2], batch_size)}
    aws_faults.stop()
    endpoint.refuse_next(FAULT_MESSAGES)
    other.refuse_next(FAULT_MESSAGES)
    assert stream_until_handled(notifier, by_group[3] + by_group[4], batch_size) == 0
    rules["attempt record throttled after the webhook"] = aws_faults.fail(
        "dynamodb", "PutItem", THROTTLED, where=first_calls(f"CALLBACKS#{s}" for s in members[0])
    )
    stream_retries[0] = stream_until_handled(notifier, by_group[0], batch_size)
    aws_faults.stop()
    rules["webhook secret read throttled"] = aws_faults.fail(
        "dynamodb", "GetItem", THROTTLED, where=pk_starts("PROPERTY#"), calls=FAULT_MESSAGES
    )
    stream_retries[1] = stream_until_handled(notifier, by_group[1], batch_size)
    aws_faults.stop()

    # and CallbackQueue hands groups 3 and 4's retry jobs to the notifier in one batch:
    # group 3's endpoint answers 500 again and SQS refuses the jobs' visibility change;
    # delivered again, DynamoDB fails their attempt record (after the webhook was made)
    jobs = callback_records(aws_session, stack)
    assert len(jobs) == 2 * FAULT_MESSAGES
    other.refuse_next(FAULT_MESSAGES)
    rules["the customer's 500 again, then the visibility change throttled"] = aws_faults.fail(
        "sqs", "ChangeMessageVisibility", THROTTLED
    )

    def then_the_attempt_record_fails() -> None:
        if "attempt record throttled after a retried webhook" not in rules:
            rules["attempt record throttled after a retried webhook"] = aws_faults.fail(
                "dynamodb",
                "PutItem",
                THROTTLED,
                where=first_calls(f"CALLBACKS#{s}" for s in members[3]),
            )

    queue = QueueModel()
    deliveries = queue_until_handled(
        notifier, jobs, queue, before_again=then_the_attempt_record_fails
    )
    aws_faults.stop()

    # Then every faulted receipt was answered a 500 in the error format, its retry applied
    assert len(refused_receipts) == 2 * FAULT_MESSAGES
    for answer in refused_receipts:
        assert answer["statusCode"] == 500
        assert json.loads(answer["body"])["Error"]["Code"] == 29001
    messages = {
        i["PK"].removeprefix("MESSAGE#"): i for i in table_items(aws_session, stack, "MESSAGE#")
    }
    assert {messages[sid]["Status"] for sid in sids} == {"delivered"}
    # ... every webhook reached the customer with one webhook-id and body, and is recorded
    received = defaultdict(list)
    for request in sink.requests() + other_sink.requests():
        received[json.loads(request["body"])["MessageSid"]].append(request)
    made = delivered(endpoint, other)
    assert sorted(made) == sorted(sids)
    for sid in sids:
        assert len({r["headers"]["webhook-id"] for r in received[sid]}) == 1
        assert len({r["body"] for r in received[sid]}) == 1
        assert "delivered" in [a["Result"] for a in attempts_of(aws_session, stack, sid)]
    # ... repeated only where its record was read again after the webhook was made (its
    # attempt record failed: groups 0 and 3), once; never because another record's
    # visibility change failed (group 4 shared group 3's batch)
    repeats = {g: sum(len(made[sid]) - 1 for sid in members[g]) for g in range(GROUPS)}
    assert repeats == {0: FAULT_MESSAGES, 1: 0, 2: 0, 3: FAULT_MESSAGES, 4: 0}
    assert queue.dead_letters == {} and queue.acknowledged == {j["messageId"] for j in jobs}
    assert {rule.failed for rule in rules.values()} == {FAULT_MESSAGES}
    rows = {
        "receipt write throttled": (2, "the carrier's retry applied it"),
        "receipt write 5xx": (4, "the carrier's retry applied it"),
        "the customer's 500, then the retry job's queue send throttled": (
            2,
            f"the stream batch read again {stream_retries[2]} time(s): attempt 1 made again",
        ),
        "attempt record throttled after the webhook": (
            0,
            f"the stream batch read again {stream_retries[0]} time(s): the webhook repeated",
        ),
        "webhook secret read throttled": (
            1,
            f"the stream batch read again {stream_retries[1]} time(s); made once",
        ),
        "the customer's 500 again, then the visibility change throttled": (
            3,
            "only those records failed (back after the queue's visibility timeout); "
            f"group 4 in the same batch repeated {repeats[4]}",
        ),
        "attempt record throttled after a retried webhook": (3, "the job delivered again"),
    }
    for row, (g, note) in rows.items():
        Figures.of(
            f"receipt webhook, {row}",
            [messages[sid] for sid in members[g]],
            crashes=rules[row].failed,
            dead_lettered=len(queue.dead_letters),
            note=f"{note}; webhooks delivered {len(members[g])}, repeated {repeats[g]} "
            "(same webhook-id)",
            kind="aws faults",
        ).show()
    print(
        f"receipts under AWS faults: {len(sids)} messages, {len(refused_receipts)} receipts "
        f"retried by the carrier, {sum(stream_retries.values())} stream batches read again, "
        f"{deliveries} CallbackQueue deliveries; webhooks delivered "
        f"{sum(map(len, made.values()))} for {len(sids)}, each with one webhook-id; "
        f"{aws_faults.attempts} failed attempts ({aws_faults.summary()})"
    )
