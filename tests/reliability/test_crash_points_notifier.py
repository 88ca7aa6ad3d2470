"""Crash point of the notifier on the table's stream (docs/reliability.md, the boundary
map): killed after a receipt webhook's attempt reached the customer and before the batch
returned (the attempt made, no record of it). Lambda retries the stream batch: the attempt
is made again with the same `webhook-id`, so a receiver can drop the repeat, and every
webhook due is delivered.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from smsgw import notify_batch
from smsgw.webhook_client import WebhookClient
from tests.integration.conftest import api, functions, table_stream  # noqa: F401 - fixtures
from tests.integration.test_notifier import attempts_of, callback_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event
from tests.reliability.conftest import FROM, recipient
from tests.reliability.crash_harness import (
    CRASH_MESSAGES,
    Boundary,
    Figures,
    Killed,
    drain_send_queue,
    end_of,
    table_items,
)

BASE = "http://127.0.0.1:9"  # the simulator's own receipts go nowhere: the test sends them
BATCH = 10  # the stream event source's BatchSize (template.yaml)
MAX_BATCH_RETRIES = 5  # per record, far more than the kills need


@pytest.fixture
def stack(aws_session):
    return deploy_once(
        aws_session,
        parameters={"PublicBaseUrl": BASE, "WebhookAllowedNetworks": "127.0.0.0/8,::1/128"},
    )


def test_a_notifier_killed_after_a_webhook_attempt_delivers_it_again_with_the_same_id(
    api,  # noqa: F811
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    simulator,
    sink,
    aws_session,
    stack,
    monkeypatch,
):
    # Given N messages with a receipt webhook, sent, and their final receipts applied
    sids = []
    for n in range(CRASH_MESSAGES):
        body = {
            "From": FROM,
            "To": recipient(n),
            "Text": f"Webhook crash-point message {n}",
            "DeliveryReceiptWebhookUri": f"{sink.url}/hooks",
        }
        response = api.send(body)
        assert response.status == 200, response.body
        sids.append(response.body["Message"]["MessageSid"])
    drain_send_queue(
        lambda batch: functions.invoke("sender", {"Records": batch}), aws_session, stack
    )
    for n, submission in enumerate(simulator.submissions()):
        final = "delivered" if n % 2 == 0 else "undelivered"
        event = twilio_receipt_event(
            submission["StatusCallback"],
            receipt_form(submission["sid"], final),
            simulator.auth_token,
        )
        assert functions.invoke("webhooks", event)["statusCode"] == 200
    # and a notifier that dies right after one in three of the webhooks reached the sink
    victims = set(sids[::3])
    kill = Boundary(
        monkeypatch,
        WebhookClient,
        "__call__",
        lambda client, request: (
            sid if (sid := json.loads(request.body)["MessageSid"]) in victims else None
        ),
        after=True,
    )

    # When the stream's records reach the notifier, ten at a time, and Lambda retries a
    # batch whose invocation died (the same records again, split in two: the template's
    # BisectBatchOnFunctionError)
    records = table_stream.records()
    assert len(records) == CRASH_MESSAGES
    retries = 0
    work = [records[start : start + BATCH] for start in range(0, len(records), BATCH)]
    while work:
        batch = work.pop(0)
        try:
            result = functions.invoke("notifier", {"Records": batch})
        except Killed:
            end_of(notify_batch._pool)
            # BisectBatchOnFunctionError: the failed batch is retried in two halves, in order
            retries += 1
            assert retries <= MAX_BATCH_RETRIES * len(records)
            half = (len(batch) + 1) // 2
            work[:0] = [batch[:half], batch[half:]] if len(batch) > 1 else [batch]
            continue
        assert result == {"batchItemFailures": []}

    # Then each message's webhook reached the sink, a repeat only with the same webhook-id
    # and body, and its delivery is recorded; nothing waits on CallbackQueue
    received = defaultdict(list)
    for request in sink.requests():
        received[json.loads(request["body"])["MessageSid"]].append(request)
    assert set(received) == set(sids)
    for sid in sids:
        assert len({r["headers"]["webhook-id"] for r in received[sid]}) == 1
        assert len({r["body"] for r in received[sid]}) == 1
        assert "delivered" in [a["Result"] for a in attempts_of(aws_session, stack, sid)]
    assert {sid for sid in sids if len(received[sid]) > 1} >= victims
    assert callback_records(aws_session, stack) == []
    messages = {
        i["PK"].removeprefix("MESSAGE#"): i for i in table_items(aws_session, stack, "MESSAGE#")
    }
    repeats = sum(len(r) - 1 for r in received.values())
    figures = Figures.of(
        "notifier on the stream killed after a webhook attempt, before the batch returned",
        [messages.get(sid) for sid in sids],
        crashes=kill.crashes,
        note=(
            f"{retries} batches retried (bisected); webhooks delivered {len(received)}/{len(sids)}, "
            f"{repeats} repeats with the same webhook-id, 0 with another"
        ),
    )
    figures.show()
    assert (figures.final, figures.stuck, kill.crashes) == (CRASH_MESSAGES, 0, len(victims))
