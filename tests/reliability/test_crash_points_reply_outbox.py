"""Crash anywhere, lose nothing: an inbound reply's forwards, whose outbox is the table's
stream (docs/reliability.md, the boundary map's row "inbound reply").

The webhooks function stores a reply with the forwards it is due in one transaction. Here
it dies right after that transaction for every one of SMSGW_REPLY_CRASHES replies (default
20): a `BaseException` nothing catches, as a timeout or an out-of-memory kill would end it,
and the carrier does not retry the callback (Twilio does not, by default). The table's
stream still hands each reply to the notifier, which queues its forwards on CallbackQueue;
the notifier runs them, and the sender sends what they queue. Each reply must be forwarded
exactly once: one carrier submission of its SMS forward, one e-mail, one reply webhook.

The second test also kills the notifier in the middle of each stream batch (between two of
its queue sends) and has Lambda retry the batch, split in two as
`BisectBatchOnFunctionError` does: the forwards queued before the kill are queued again,
and still each SMS is submitted once (its MessageSid is derived from the reply, and the
sender's claim), each e-mail sent once (its claim), and each reply webhook carries one
`webhook-id`; a webhook queued before the kill is delivered a second time with that id and
body, for the receiver to drop (as a receipt webhook's retried record is).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.integration.conftest import (  # noqa: F401 - fixtures reused, not copied
    api,
    functions,
    queued_records,
    table_stream,
)
from tests.integration.test_replies import (  # noqa: F401 - the fixture `leased`
    FORWARD_TO,
    callback_jobs,
    inbound,
    leased,
)
from tests.moto_snapshots import deploy_once

REPLIES = int(os.environ.get("SMSGW_REPLY_CRASHES", "20"))
FORWARDS = ("forward_sms", "forward_email", "reply")


class WebhooksKilled(BaseException):
    """The webhooks function's execution environment ending mid-request."""


class NotifierKilled(BaseException):
    """The notifier's execution environment ending mid-batch."""


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})


@pytest.fixture
def leased_alone(leased, aws_session, stack):  # noqa: F811 - the fixture imported above
    """A message sent from a lease with every response option; its own job drained."""
    queued_records(aws_session, stack)  # the leased send's own job: not part of this test
    return leased


@pytest.fixture
def webhooks_die_after_the_reply_is_stored(monkeypatch) -> None:
    """The webhooks function dies right after the reply's transaction has committed."""
    from smsgw.dal.reply_store import ReplyStore

    store = ReplyStore.store

    def store_then_die(self, *args: Any, **kwargs: Any) -> bool:
        if store(self, *args, **kwargs):
            raise WebhooksKilled("after the reply's transaction")
        return False

    monkeypatch.setattr(ReplyStore, "store", store_then_die)


class NotifierKiller:
    """CallbackQueue's send, dying once at a chosen send (counted from `arm`)."""

    def __init__(self, monkeypatch) -> None:
        from smsgw.dal.callback_store import CallbackQueue

        self._send = CallbackQueue.enqueue
        self._countdown: int | None = None
        self.kills = 0
        self.queued_before_a_kill: list[Any] = []
        """The jobs queued by invocations that were then killed (queued again on retry)."""
        self._this_invocation: list[Any] = []
        killer = self

        def enqueue(queue: Any, job: Any, delay_seconds: int = 0) -> None:
            killer._enqueue(queue, job, delay_seconds)

        monkeypatch.setattr(CallbackQueue, "enqueue", enqueue)

    def arm(self, die_at_send: int) -> None:
        self._countdown, self._this_invocation = die_at_send, []

    def _enqueue(self, queue: Any, job: Any, delay_seconds: int = 0) -> None:
        if self._countdown is not None:
            self._countdown -= 1
            if self._countdown == 0:
                self._countdown = None
                self.kills += 1
                self.queued_before_a_kill += self._this_invocation
                raise NotifierKilled("between two queue sends")
            self._this_invocation.append(job)
        self._send(queue, job, delay_seconds)


def kinds_and_reply(body: str) -> tuple[str, str]:
    job = json.loads(body)
    return job["Kind"], (job.get("Reply") or job.get("Payload") or {})["ReplySid"]


def reply_killed_after_its_write(functions, n: int) -> None:  # noqa: F811
    with pytest.raises(WebhooksKilled):
        functions.invoke("webhooks", inbound(f"Crash-point reply {n}", sid=f"SMin{n:06d}"))


def run_callback_queue(functions, aws_session, stack) -> int:  # noqa: F811
    """The notifier over CallbackQueue until it is empty: forwards and webhooks made."""
    handled = 0
    while jobs := callback_jobs(aws_session, stack):
        for start in range(0, len(jobs), 10):
            batch = jobs[start : start + 10]
            assert functions.invoke("notifier", {"Records": batch}) == {"batchItemFailures": []}
            aws_session.client("sqs").delete_message_batch(
                QueueUrl=stack.queue_url("CallbackQueue"),
                Entries=[
                    {"Id": str(i), "ReceiptHandle": j["receiptHandle"]} for i, j in enumerate(batch)
                ],
            )
        handled += len(jobs)
    return handled


def run_sender(functions, aws_session, stack) -> int:  # noqa: F811
    records = queued_records(aws_session, stack)
    for start in range(0, len(records), 10):
        answer = functions.invoke("sender", {"Records": records[start : start + 10]})
        assert answer == {"batchItemFailures": []}
    return len(records)


class Forwarded:
    """What reached the outside world, per reply text / ReplySid."""

    def __init__(self, simulator, sink) -> None:
        self.sms = Counter(s["Body"] for s in simulator.submissions() if s["To"] == FORWARD_TO)
        mails = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        self.emails = Counter(m.body.split("\n\n--")[0] for m in mails)
        self.hooks: Counter[str] = Counter()
        self.hook_ids: dict[str, set[str]] = defaultdict(set)
        self.hook_bodies: dict[str, set[str]] = defaultdict(set)
        for request in sink.requests():
            reply_sid = json.loads(request["body"])["ReplySid"]
            self.hooks[reply_sid] += 1
            self.hook_ids[reply_sid].add(request["headers"]["webhook-id"])
            self.hook_bodies[reply_sid].add(request["body"])


def stored_replies(aws_session, stack) -> dict[str, str]:
    """Text -> ReplySid of every stored reply."""
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    items = table.scan()["Items"]
    return {i["Text"]: i["ReplySid"] for i in items if i["PK"].startswith("LEASEREPLIES#")}


def test_a_webhooks_function_killed_after_storing_a_reply_loses_none_of_its_forwards(
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    leased_alone,
    simulator,
    sink,
    aws_session,
    stack,
    webhooks_die_after_the_reply_is_stored,
):
    # Given replies whose webhooks function died right after storing each, and a carrier
    # that does not retry the callbacks
    for n in range(REPLIES):
        reply_killed_after_its_write(functions, n)
    replies = stored_replies(aws_session, stack)
    assert len(replies) == REPLIES
    assert callback_jobs(aws_session, stack) == []  # nothing was queued by the function

    # When Lambda hands the table's stream to the notifier, in batches of its event source
    records = table_stream.records()
    batch_size = table_stream.trigger.batch_size
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        assert functions.invoke("notifier", {"Records": batch}) == {"batchItemFailures": []}
    # and the notifier runs the forwards, and the sender sends what they queued
    jobs = run_callback_queue(functions, aws_session, stack)
    sent = run_sender(functions, aws_session, stack)

    # Then each reply was forwarded exactly once by SMS, e-mail and webhook
    out = Forwarded(simulator, sink)
    assert len(records) == REPLIES and jobs == 3 * REPLIES and sent == REPLIES
    assert {out.sms[text] for text in replies} == {1}
    assert {out.emails[text] for text in replies} == {1}
    assert {out.hooks[sid] for sid in replies.values()} == {1}
    print(
        f"\ncrash points (reply outbox): webhooks killed after the reply's write for "
        f"{REPLIES} replies, no carrier retry; stream records {len(records)}, forward jobs "
        f"{jobs}; per reply: SMS submissions {dict(Counter(out.sms[t] for t in replies))}, "
        f"e-mails {dict(Counter(out.emails[t] for t in replies))}, webhooks "
        f"{dict(Counter(out.hooks[s] for s in replies.values()))}; lost 0, duplicates 0"
    )


def test_a_stream_batch_retried_after_the_notifier_died_mid_batch_forwards_each_reply_once(
    functions,  # noqa: F811
    table_stream,  # noqa: F811
    leased_alone,
    simulator,
    sink,
    aws_session,
    stack,
    webhooks_die_after_the_reply_is_stored,
    monkeypatch,
):
    # Given replies stored by a webhooks function that died after each write
    for n in range(REPLIES):
        reply_killed_after_its_write(functions, n)
    replies = stored_replies(aws_session, stack)
    killer = NotifierKiller(monkeypatch)

    # When the notifier dies in the middle of each stream batch (between a reply's SMS job
    # and its e-mail job), and Lambda retries the batch split in two
    records = table_stream.records()
    batch_size = table_stream.trigger.batch_size
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        killer.arm(die_at_send=3 * (len(batch) // 2) + 2)
        with pytest.raises(NotifierKilled):
            functions.invoke("notifier", {"Records": batch})
        for half in (batch[: len(batch) // 2], batch[len(batch) // 2 :]):
            assert functions.invoke("notifier", {"Records": half}) == {"batchItemFailures": []}
    jobs = run_callback_queue(functions, aws_session, stack)
    sent = run_sender(functions, aws_session, stack)

    # Then each reply's SMS forward was submitted once and its e-mail sent once
    out = Forwarded(simulator, sink)
    assert killer.kills == -(-REPLIES // batch_size)
    repeated = Counter(kinds_and_reply(job.to_json()) for job in killer.queued_before_a_kill)
    assert jobs == 3 * REPLIES + len(repeated)
    assert {out.sms[text] for text in replies} == {1}
    assert {out.emails[text] for text in replies} == {1}
    # and its webhook carried one webhook-id and body: delivered once, or twice when its
    # job had been queued before the notifier died (the receiver drops the repeat)
    assert {len(out.hook_ids[sid]) for sid in replies.values()} == {1}
    assert {len(out.hook_bodies[sid]) for sid in replies.values()} == {1}
    for sid in replies.values():
        assert out.hooks[sid] == 1 + repeated[("reply", sid)], sid
    print(
        f"\ncrash points (reply outbox): webhooks killed after the reply's write for "
        f"{REPLIES} replies, then the notifier killed mid-batch {killer.kills} times and the "
        f"batches retried; forward jobs {jobs} ({len(repeated)} queued twice), SMS sent "
        f"{sent} jobs; per reply: SMS submissions "
        f"{dict(Counter(out.sms[t] for t in replies))}, e-mails "
        f"{dict(Counter(out.emails[t] for t in replies))}, webhook-ids "
        f"{dict(Counter(len(out.hook_ids[s]) for s in replies.values()))}, webhook "
        f"deliveries {dict(Counter(out.hooks[s] for s in replies.values()))}; lost 0"
    )
