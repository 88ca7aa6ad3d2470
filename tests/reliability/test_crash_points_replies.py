"""Crash points of inbound replies and their forwards (docs/reliability.md, the boundary
map), through the real webhooks, notifier, sender and scheduler handlers:

- the webhooks function killed after it stored the reply with its forwards, before it
  answered the carrier; the carrier retries the callback (it got no 2xx), which finds the
  reply stored and does nothing more: the forwards come from the table's stream once
  (without a retry: `test_crash_points_reply_outbox.py`);
- the notifier killed after it stored an SMS forward's message and before its SendQueue
  send; CallbackQueue delivers the job again, or the job is lost and the message's
  recovery entry is what sends it.

Each reply must be forwarded once by SMS and at most once by e-mail, and its webhook
delivered with one `webhook-id`.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from smsgw import notify_batch
from smsgw.dal.reply_store import ReplyStore
from smsgw.dal.send_queue import SendQueue
from smsgw.ids import MESSAGE_PREFIX, derived_sid
from smsgw.models.lease import FORWARD_SMS, REPLY_PREFIX, job_kind
from tests.integration.conftest import api, functions, table_stream  # noqa: F401 - fixtures
from tests.integration.test_replies import (  # noqa: F401 - the fixture `leased`
    FORWARD_TO,
    forward_jobs_from_the_stream,
    inbound,
    leased,
)
from tests.moto_snapshots import deploy_once
from tests.reliability.conftest import QueueModel
from tests.reliability.crash_harness import (
    CRASH_MESSAGES,
    Boundary,
    Figures,
    Killed,
    drain_send_queue,
    end_of,
    table_items,
)
from tests.support import apply_environment

BATCH = 10  # CallbackQueue's BatchSize for the notifier (template.yaml)


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})


def carrier_sid(n: int) -> str:
    return f"SMin{n:04d}"


def reply_text(n: int) -> str:
    return f"Crash-point reply {n}"


def forward_sid(n: int) -> str:
    reply_sid = derived_sid(REPLY_PREFIX, f"twilio:{carrier_sid(n)}")
    return derived_sid(MESSAGE_PREFIX, f"forward:{reply_sid}")


def run_notifier(functions, records, queue: QueueModel) -> int:  # noqa: F811
    """CallbackQueue's records through the notifier, ten at a time; a batch whose
    invocation died is delivered again (SQS, after its visibility timeout). The number of
    invocations that died."""
    died = 0
    for start in range(0, len(records), BATCH):
        pending = records[start : start + BATCH]
        while pending:
            delivered = [queue.deliver(record) for record in pending]
            try:
                failures = functions.invoke("notifier", {"Records": delivered})
            except Killed:
                end_of(notify_batch._pool)
                died += 1
                pending = queue.settle(pending, {r["messageId"] for r in pending})
                continue
            assert failures == {"batchItemFailures": []}
            pending = queue.settle(pending, set())
    return died


def run_sender(functions, aws_session, stack) -> int:  # noqa: F811
    return drain_send_queue(
        lambda batch: functions.invoke("sender", {"Records": batch}), aws_session, stack
    )


def forwarded_once(simulator, sink) -> tuple[Counter, Counter, dict[str, set[str]]]:
    """SMS forwards by text, e-mails by reply text, and the reply webhooks' ids by text."""
    sms = Counter(s["Body"] for s in simulator.submissions() if s["To"] == FORWARD_TO)
    mails = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    emails = Counter(
        reply_text(n)
        for mail in mails
        for n in range(CRASH_MESSAGES)
        if f"{reply_text(n)}\n" in mail.body
    )
    hooks: dict[str, set[str]] = defaultdict(set)
    for request in sink.requests():
        hooks[json.loads(request["body"])["Text"]].add(request["headers"]["webhook-id"])
    return sms, emails, hooks


def test_a_reply_killed_after_it_was_stored_is_forwarded_once_despite_the_carriers_retry(
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    simulator,
    aws_session,
    stack,
    leased,  # noqa: F811
    sink,
    monkeypatch,
):
    # Given a webhooks function that dies after storing every other reply (with the
    # forwards it is due), before it answers the carrier
    victims = {carrier_sid(n) for n in range(0, CRASH_MESSAGES, 2)}
    kill = Boundary(
        monkeypatch,
        ReplyStore,
        "store",
        lambda store, reply, *args, **kwargs: (
            reply.carrier_sid if reply.carrier_sid in victims else None
        ),
        after=True,
    )

    # When N replies arrive, and the carrier retries each callback that got no answer
    retried = 0
    for n in range(CRASH_MESSAGES):
        callback = inbound(reply_text(n), sid=carrier_sid(n))
        try:
            answer = functions.invoke("webhooks", callback)
        except Killed:
            retried += 1
            answer = functions.invoke("webhooks", callback)
        assert answer["statusCode"] == 200
    # and the notifier queues the forwards from the table's stream, then runs them, and
    # the sender sends what they queued
    queue = QueueModel()
    run_notifier(
        functions, forward_jobs_from_the_stream(table_stream, functions, aws_session, stack), queue
    )
    run_sender(functions, aws_session, stack)

    # Then each reply is stored once and forwarded once by SMS and by e-mail, and its
    # webhook carries one webhook-id
    assert retried == kill.crashes == len(victims)
    assert len(table_items(aws_session, stack, "LEASEREPLIES#")) == CRASH_MESSAGES
    sms, emails, hooks = forwarded_once(simulator, sink)
    texts = [reply_text(n) for n in range(CRASH_MESSAGES)]
    assert [sms[t] for t in texts] == [1] * CRASH_MESSAGES
    assert [emails[t] for t in texts] == [1] * CRASH_MESSAGES
    assert [len(hooks[t]) for t in texts] == [1] * CRASH_MESSAGES
    forwards = {
        i["PK"].removeprefix("MESSAGE#"): i for i in table_items(aws_session, stack, "MESSAGE#")
    }
    figures = Figures.of(
        "inbound reply killed after the reply was stored, before the carrier's answer",
        [forwards.get(forward_sid(n)) for n in range(CRASH_MESSAGES)],
        crashes=kill.crashes,
        dead_lettered=len(queue.dead_letters),
        duplicates=sum(c - 1 for c in sms.values()) + sum(c - 1 for c in emails.values()),
        note=(
            f"{retried} callbacks retried by the carrier; SMS forwards {sum(sms.values())}, "
            f"e-mails {sum(emails.values())}, webhooks with one id {len(hooks)}"
        ),
    )
    figures.show()
    assert (figures.final, figures.stuck, figures.duplicates) == (CRASH_MESSAGES, 0, 0)


@pytest.mark.parametrize("job", ["redelivered", "lost"])
def test_an_sms_forward_killed_before_its_queue_send_is_sent_once(
    job,
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    simulator,
    aws_session,
    stack,
    leased,  # noqa: F811
    sink,
    monkeypatch,
):
    # Given N replies, stored with their forwards, which the notifier has read from the
    # table's stream and queued on CallbackQueue
    for n in range(CRASH_MESSAGES):
        callback = inbound(reply_text(n), sid=carrier_sid(n))
        assert functions.invoke("webhooks", callback)["statusCode"] == 200
    records = forward_jobs_from_the_stream(table_stream, functions, aws_session, stack)
    run_sender(functions, aws_session, stack)  # the leased message itself: not part of this
    # and a notifier that dies after storing each SMS forward's message, before its send
    victims = {forward_sid(n) for n in range(CRASH_MESSAGES)}
    kill = Boundary(
        monkeypatch,
        SendQueue,
        "enqueue",
        lambda queue, sid, *args, **kwargs: sid if sid in victims else None,
        after=False,
    )

    # When CallbackQueue delivers the jobs to the notifier: an invocation that died is
    # delivered again; or, for "lost", each SMS forward's job is in an invocation of its
    # own and never comes back
    queue = QueueModel()
    lost = 0
    if job == "lost":
        sms_jobs = [r for r in records if job_kind(r["body"]) == FORWARD_SMS]
        records = [r for r in records if job_kind(r["body"]) != FORWARD_SMS]
        for record in sms_jobs:
            with pytest.raises(Killed):
                functions.invoke("notifier", {"Records": [queue.deliver(record)]})
            end_of(notify_batch._pool)
            lost += 1
    died = run_notifier(functions, records, queue)
    # and the sender handles SendQueue, while the scheduler ticks once a simulated minute
    jobs = run_sender(functions, aws_session, stack)
    stored = {
        i["PK"].removeprefix("MESSAGE#"): i for i in table_items(aws_session, stack, "MESSAGE#")
    }
    assert {stored[sid]["Status"] for sid in victims} == (
        {"sent"} if job == "redelivered" else {"queued"}
    )
    started, released = int(time.time()), 0
    for minute in range(1, 11):
        released += tick(functions, stack, started + 60 * minute)
        jobs += run_sender(functions, aws_session, stack)

    # Then each reply was forwarded once by SMS, at most once by e-mail, and its webhook
    # carries one webhook-id
    assert kill.crashes == CRASH_MESSAGES
    assert released == (CRASH_MESSAGES if job == "lost" else 0)
    sms, emails, hooks = forwarded_once(simulator, sink)
    texts = [reply_text(n) for n in range(CRASH_MESSAGES)]
    assert [sms[t] for t in texts] == [1] * CRASH_MESSAGES
    assert max(emails.values()) == 1 and [len(hooks[t]) for t in texts] == [1] * CRASH_MESSAGES
    stored = {
        i["PK"].removeprefix("MESSAGE#"): i for i in table_items(aws_session, stack, "MESSAGE#")
    }
    figures = Figures.of(
        f"SMS forward killed after the forward was stored, before its queue send, job {job}",
        [stored.get(sid) for sid in victims],
        crashes=kill.crashes,
        dead_lettered=len(queue.dead_letters),
        duplicates=sum(c - 1 for c in sms.values()) + sum(c - 1 for c in emails.values()),
        note=(
            f"{died} notifier invocations redelivered, {lost} jobs lost, {released} released "
            f"by the scheduler, {jobs} SendQueue jobs; e-mails {sum(emails.values())}"
        ),
    )
    figures.show()
    assert (figures.final, figures.stuck, figures.duplicates) == (CRASH_MESSAGES, 0, 0)


def tick(functions, stack, now: float) -> int:  # noqa: F811
    """One scheduler tick at `now`, in the scheduler function's environment; released jobs."""
    from smsgw import minute_tick

    apply_environment(stack.function_environment("SchedulerFunction"))
    with functions.running("SchedulerFunction"):
        return minute_tick.run_tick(f"tick-{now}", now=now).released
