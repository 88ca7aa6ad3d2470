"""AWS faults on inbound replies and their forwards (docs/reliability.md, "AWS faults"):
DynamoDB and SQS calls that fail after botocore's own retries (aws_faults.py), through the
real webhooks, notifier, sender and scheduler handlers against moto.

A callback hit by a fault must answer the carrier non-2xx (a 500 in the error format), so
that it retries; the table's stream and CallbackQueue are read again until the notifier
has handled each record (Lambda's event sources, played by the test). Each reply must be
stored once and forwarded exactly once by SMS and e-mail, its webhook delivered with one
`webhook-id` (a repeat only with that id).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from smsgw.models.lease import FORWARD_EMAIL, REPLY_WEBHOOK, job_kind
from smsgw_tools.local.sink import WebhookSink
from tests.integration.conftest import api, functions, table_stream  # noqa: F401 - fixtures
from tests.integration.test_replies import FORWARD_TO, callback_jobs, inbound, leased  # noqa: F401
from tests.moto_snapshots import deploy_once
from tests.reliability.aws_faults import (
    FAULT_MESSAGES,
    INTERNAL,
    THROTTLED,
    UNAVAILABLE,
    aws_faults,  # noqa: F401 - the fixture
    first_calls,
    job_sid,
    pk_starts,
    to_queue,
    transaction_touches,
)
from tests.reliability.conftest import QueueModel
from tests.reliability.crash_harness import (
    Figures,
    drain_send_queue,
    queue_until_handled,
    stream_until_handled,
    table_items,
)
from tests.reliability.test_crash_points_replies import carrier_sid, forward_sid

CALLBACK_ROWS = {  # a fault on the webhooks function's one call, for one group of replies
    "lease read throttled": ("GetItem", THROTTLED, pk_starts("LEASE#")),
    "reply's transaction throttled": (
        "TransactWriteItems",
        THROTTLED,
        transaction_touches("LEASEREPLIES#"),
    ),
    "forward-echo read 5xx": ("GetItem", INTERNAL, pk_starts("SMSFORWARD#")),
}
GROUPS = 5


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})


@pytest.fixture
def sink():
    with WebhookSink() as running:
        yield running


def reply_text(n: int) -> str:
    return f"Faulted reply {n}"


def reply_sid(n: int) -> str:
    from smsgw.ids import derived_sid
    from smsgw.models.lease import REPLY_PREFIX

    return derived_sid(REPLY_PREFIX, f"twilio:{carrier_sid(n)}")


def test_replies_under_aws_faults_are_stored_once_and_forwarded_once(
    aws_faults,  # noqa: F811
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    simulator,
    aws_session,
    stack,
    leased,  # noqa: F811
    sink,
):
    replies = FAULT_MESSAGES * GROUPS
    group = {n: n // FAULT_MESSAGES for n in range(replies)}
    drain_send_queue(  # the leased message's own job: not part of this test
        lambda batch: functions.invoke("sender", {"Records": batch}), aws_session, stack
    )
    faults: Counter[str] = Counter()

    # Given replies whose callback's one DynamoDB call fails (a group per fault), the carrier
    # retrying a callback that got no 2xx
    answers = []
    for n in range(replies):
        callback = inbound(reply_text(n), sid=carrier_sid(n))
        row = list(CALLBACK_ROWS)[group[n]] if group[n] < len(CALLBACK_ROWS) else None
        if row is not None:
            operation, fault, where = CALLBACK_ROWS[row]
            rule = aws_faults.fail("dynamodb", operation, fault, where=where, calls=1)
            answers.append(functions.invoke("webhooks", callback))
            faults[row] += rule.failed
            aws_faults.stop()
        assert functions.invoke("webhooks", callback)["statusCode"] == 200
    # and SQS refusing some of the forward jobs the notifier queues from the table's stream
    rule = aws_faults.fail(
        "sqs", "SendMessage", THROTTLED, where=to_queue("CallbackQueue"), calls=FAULT_MESSAGES
    )
    records = table_stream.records()
    stream_retries = stream_until_handled(
        lambda batch: functions.invoke("notifier", {"Records": batch}),
        records,
        table_stream.trigger.batch_size,
    )
    faults["forward jobs' queue send throttled"] += rule.failed
    aws_faults.stop()

    # When the notifier makes the forwards from CallbackQueue while DynamoDB and SQS fail
    # one group's calls each, and the queue delivers again what it did not acknowledge
    def sids(g: int) -> list[str]:
        return [forward_sid(n) for n in range(replies) if group[n] == g]

    def email_claims(g: int) -> list[str]:
        return [f"FORWARD#{reply_sid(n)}#{FORWARD_EMAIL}" for n in range(replies) if group[n] == g]

    forward_rules = {
        "SMS forward's SendQueue send throttled": aws_faults.fail(
            "sqs", "SendMessage", THROTTLED, where=first_calls(sids(0), key=job_sid)
        ),
        "SMS forward's message write throttled": aws_faults.fail(
            "dynamodb", "PutItem", THROTTLED, where=first_calls(f"MESSAGE#{s}" for s in sids(1))
        ),
        "e-mail's claim throttled": aws_faults.fail(
            "dynamodb", "PutItem", UNAVAILABLE, where=first_calls(email_claims(2))
        ),
        "e-mail sent, then its claim's settle throttled": aws_faults.fail(
            "dynamodb", "UpdateItem", THROTTLED, where=first_calls(email_claims(3))
        ),
        "reply webhook delivered, then its attempt record throttled": aws_faults.fail(
            "dynamodb", "PutItem", THROTTLED, where=pk_starts("CALLBACKS#"), calls=FAULT_MESSAGES
        ),
    }
    jobs = callback_jobs(aws_session, stack)
    queue = QueueModel()
    deliveries = queue_until_handled(
        lambda batch: functions.invoke("notifier", {"Records": batch}), jobs, queue
    )
    aws_faults.stop()
    # and the sender handles SendQueue
    sent = drain_send_queue(
        lambda batch: functions.invoke("sender", {"Records": batch}), aws_session, stack
    )

    # Then each faulted callback was answered a 500 in the error format, and its retry 200
    assert len(answers) == FAULT_MESSAGES * len(CALLBACK_ROWS)
    for answer in answers:
        assert answer["statusCode"] == 500, answer
        assert json.loads(answer["body"])["Error"]["Code"] == 29001
    # ... each reply is stored once, forwarded once by SMS and by e-mail, and its webhook
    # came with one webhook-id (twice when its attempt record failed, the same id and body)
    texts = [reply_text(n) for n in range(replies)]
    assert sorted(i["Text"] for i in table_items(aws_session, stack, "LEASEREPLIES#")) == sorted(
        texts
    )
    sms = Counter(s["Body"] for s in simulator.submissions() if s["To"] == FORWARD_TO)
    mails = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    emails = Counter(t for mail in mails for t in texts if f"{t}\n" in mail.body)
    hooks: dict[str, list[dict]] = defaultdict(list)
    for request in sink.requests():
        hooks[json.loads(request["body"])["Text"]].append(request)
    assert [sms[t] for t in texts] == [1] * replies
    assert [emails[t] for t in texts] == [1] * replies
    assert [len({r["headers"]["webhook-id"] for r in hooks[t]}) for t in texts] == [1] * replies
    assert [len({r["body"] for r in hooks[t]}) for t in texts] == [1] * replies
    # (a reply webhook's job queued twice, its stream record read again, arrives twice too)
    reply_jobs = sum(job_kind(job["body"]) == REPLY_WEBHOOK for job in jobs)
    record_faults = forward_rules["reply webhook delivered, then its attempt record throttled"]
    webhook_repeats = sum(len(hooks[t]) - 1 for t in texts)
    assert webhook_repeats == reply_jobs - replies + record_faults.failed
    forwards = {
        i["PK"].removeprefix("MESSAGE#"): i for i in table_items(aws_session, stack, "MESSAGE#")
    }
    # ... and nothing is left for the scheduler to release (every forward was claimed)
    assert queue.dead_letters == {}
    assert [i for i in forwards.values() if i.get("GSI3PK", "").startswith("SCHEDULE#")] == []
    for row, rule in forward_rules.items():
        faults[row] += rule.failed
    group_of_row = {row: g for g, row in enumerate(CALLBACK_ROWS)} | {
        row: g for g, row in enumerate(forward_rules)
    }
    notes = {
        "forward jobs' queue send throttled": (
            f"stream batches read again: {stream_retries}; {len(jobs) - 3 * replies} jobs "
            f"queued twice ({reply_jobs - replies} reply webhooks, delivered twice, one id)"
        ),
        "reply webhook delivered, then its attempt record throttled": (
            f"{record_faults.failed} webhooks repeated with the same webhook-id"
        ),
    }
    for row, failed in faults.items():
        in_row = [n for n in range(replies) if group[n] == group_of_row.get(row, group[n])]
        Figures.of(
            f"inbound reply, {row}",
            [forwards.get(forward_sid(n)) for n in in_row],
            crashes=failed,
            dead_lettered=len(queue.dead_letters),
            duplicates=sum(sms[reply_text(n)] - 1 + emails[reply_text(n)] - 1 for n in in_row),
            note=f"{len(in_row)} replies' SMS forwards; " + notes.get(row, "retried, made once"),
            kind="aws faults",
        ).show()
    print(
        f"replies under AWS faults: {replies} replies, {len(records)} stream records "
        f"({stream_retries} batches read again), {deliveries} CallbackQueue deliveries, "
        f"{sent} SendQueue jobs; SMS forwards "
        f"{sms.total()}, e-mails {emails.total()}, webhooks {sum(map(len, hooks.values()))}; "
        f"{aws_faults.attempts} failed attempts ({aws_faults.summary()})"
    )
