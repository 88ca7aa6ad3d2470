"""Replies on leased numbers (smsgw.logic.replies) on the in-memory fakes: lease routing,
opt-out keywords, once-only storage of a retried callback, the forwards stored with the
reply and queued by the notifier from the table's stream (smsgw.logic.outbox), and
forwards by SMS (through the sender's queue) and e-mail (claimed once, never resent after
an unknown outcome)."""

from __future__ import annotations

import pytest

from smsgw.errors import ErrorCode, ForbiddenError, TransientError, ValidationError
from smsgw.ids import MESSAGE_PREFIX, derived_sid
from smsgw.logic.outbox import StreamChange, forward_jobs_for_change
from smsgw.logic.replies import (
    Forwarder,
    Keyword,
    MailUnavailableError,
    ReplyOutcome,
    ReplyProcessor,
    ReplyResult,
    keyword,
)
from smsgw.models.lease import FORWARD_EMAIL, FORWARD_SMS, REPLY_WEBHOOK, ForwardJob, forwards_of
from smsgw.models.message import QUEUED
from tests.fakes import (
    FakeCallbackQueue,
    FakeCarrier,
    FakeLeaseStore,
    FakeMailer,
    FakeMessageStore,
    FakePool,
    FakeReplyStore,
    FakeSendQueue,
    FakeTenantStore,
    callback,
)
from tests.fakes.builders import T0, a_lease

R = "+61488023555"
N = "+61400000001"
OPTIONS = {
    "ForwardToSms": "+61400999999",
    "ForwardToEmail": "ops@example.com",
    "WebhookUri": "https://a.example/replies",
}


@pytest.fixture
def leases() -> FakeLeaseStore:
    pool = FakePool()
    pool.add(N, ("AU",))
    return FakeLeaseStore(pool)


@pytest.fixture
def store() -> FakeReplyStore:
    return FakeReplyStore()


@pytest.fixture
def queue() -> FakeCallbackQueue:
    return FakeCallbackQueue()


class ThroughTheStream:
    """The webhooks function's ReplyProcessor, then the notifier reading the table's stream:
    the forwards of each reply stored are queued on `queue`, as the notifier queues them."""

    def __init__(self, leases: FakeLeaseStore, store: FakeReplyStore, queue: FakeCallbackQueue):
        self.processor = ReplyProcessor(
            carrier=FakeCarrier("twilio"), leases=leases, store=store, tenants=FakeTenantStore()
        )
        self._store = store
        self._queue = queue

    def handle(self, *args) -> ReplyOutcome:
        outcome = self.processor.handle(*args)
        self.read_stream()
        return outcome

    def read_stream(self) -> None:
        for key, item in self._store.stream_inserts():
            for job in forward_jobs_for_change(StreamChange("INSERT", key, None, item)):
                self._queue.enqueue(job)


@pytest.fixture
def processor(leases, store, queue) -> ThroughTheStream:
    return ThroughTheStream(leases, store, queue)


def leased(leases, options=OPTIONS, expires_at=T0 + 1000):
    lease = a_lease(number=N, expires_at=expires_at, response_options=options)
    leases.allocate(lease, "AU", T0 - 1)
    return lease


def inbound(text="YES", carrier_sid="SMin1", responder=R, signed=True, number=N):
    return callback(
        {"CarrierSid": carrier_sid, "From": responder, "To": number, "Text": text}, signed=signed
    )


def stamp(second: int) -> str:
    return f"2027-01-15T08:00:{second:02d}.000Z"


def test_a_reply_on_a_live_lease_is_stored_and_routed_by_its_latest_message(
    processor, leases, store, queue
):
    lease = leased(leases)

    outcome = processor.handle(inbound(), stamp(0), T0)

    assert outcome.result == ReplyResult.ROUTED
    assert outcome.forwards == (FORWARD_SMS, FORWARD_EMAIL, REPLY_WEBHOOK)
    assert queue.kinds() == [FORWARD_SMS, FORWARD_EMAIL, REPLY_WEBHOOK]
    [reply] = store.all_replies()
    assert (reply.lease_id, reply.account_sid, reply.message_sid) == (
        lease.lease_id,
        lease.account_sid,
        lease.last_message_sid,
    )
    webhook = queue.sent[2]
    assert webhook.uri == OPTIONS["WebhookUri"] and webhook.payload["Event"] == "reply"


def test_a_reply_on_a_lease_without_options_is_only_stored(processor, leases, store, queue):
    leased(leases, options=None)

    assert processor.handle(inbound(), stamp(0), T0).result == ReplyResult.STORED
    assert len(store.all_replies()) == 1 and queue.sent == []


@pytest.mark.parametrize("expires_at", [None, T0])
def test_a_reply_with_no_live_lease_is_stored_aside_and_not_routed(
    processor, leases, store, queue, expires_at
):
    if expires_at is not None:
        leased(leases, expires_at=expires_at)  # expired at the moment the reply arrives

    outcome = processor.handle(inbound("STOP"), stamp(0), T0)

    assert outcome.result == ReplyResult.UNMATCHED
    [reply] = store.all_replies()
    assert reply.lease_id is None and reply.keyword is None
    assert queue.sent == [] and leases.opted_out == {}


def test_a_reply_is_stored_with_the_forwards_it_is_due_and_the_function_queues_nothing(
    leases, store, queue
):
    # Given the webhooks function alone (no notifier reading the stream)
    leased(leases)
    webhooks = ReplyProcessor(
        carrier=FakeCarrier("twilio"), leases=leases, store=store, tenants=FakeTenantStore()
    )

    # When a reply arrives on a live lease with response options
    outcome = webhooks.handle(inbound(), stamp(0), T0)

    # Then it is routed: stored in one write with the lease's options as its forwards
    assert (outcome.result, outcome.forwards) == (
        ReplyResult.ROUTED,
        (FORWARD_SMS, FORWARD_EMAIL, REPLY_WEBHOOK),
    )
    [(key, item)] = store.stream_inserts()
    assert key.startswith("LEASEREPLIES#") and forwards_of(item) == OPTIONS
    assert item["ReplySid"] == outcome.reply_sid and item["Text"] == "YES"
    assert queue.sent == []


def test_a_retried_callback_is_stored_once_and_queues_nothing_more(processor, leases, store, queue):
    leased(leases)
    first = processor.handle(inbound(), stamp(0), T0)

    retry = processor.handle(inbound(), stamp(9), T0 + 9)

    assert retry.result == ReplyResult.DUPLICATE and retry.reply_sid == first.reply_sid
    assert retry.forwards == first.forwards
    assert len(store.all_replies()) == 1
    # the first callback's write is on the stream; the retry writes nothing
    assert queue.kinds() == [FORWARD_SMS, FORWARD_EMAIL, REPLY_WEBHOOK]


def test_a_retried_unmatched_callback_is_a_duplicate(processor, store):
    processor.handle(inbound(), stamp(0), T0)

    assert processor.handle(inbound(), stamp(5), T0 + 5).result == ReplyResult.DUPLICATE
    assert len(store.all_replies()) == 1


@pytest.mark.parametrize("text", ["STOP", " stop ", "Unsubscribe", "QUIT", "end", "cancel"])
def test_a_stop_keyword_opts_the_responder_out_of_the_leases_account(
    processor, leases, store, queue, text
):
    leased(leases)

    outcome = processor.handle(inbound(text), stamp(0), T0)

    assert leases.is_opted_out("AC1", R) and not leases.is_opted_out("AC2", R)
    assert store.all_replies()[0].keyword == Keyword.OPT_OUT
    assert outcome.result == ReplyResult.ROUTED and len(queue.sent) == 3  # still forwarded


def test_start_opts_the_responder_back_in(processor, leases, store):
    leased(leases)
    processor.handle(inbound("STOP", carrier_sid="SMin1"), stamp(0), T0)

    processor.handle(inbound("start", carrier_sid="SMin2"), stamp(1), T0 + 1)

    assert not leases.is_opted_out("AC1", R)
    assert [r.keyword for r in store.all_replies()] == [Keyword.OPT_OUT, Keyword.OPT_IN]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.OPT_OUT),
        ("stopall", Keyword.OPT_OUT),
        ("\tEnd\n", Keyword.OPT_OUT),
        ("UNSTOP", Keyword.OPT_IN),
        ("Start", Keyword.OPT_IN),
        ("STOP please", None),
        ("YES", None),
        ("", None),
    ],
)
def test_only_a_whole_message_is_a_keyword(text, expected):
    assert keyword(text) == expected


def test_a_forged_or_unparsable_reply_stores_nothing(processor, leases, store, queue):
    leased(leases)

    with pytest.raises(ForbiddenError):
        processor.handle(inbound("STOP", signed=False), stamp(0), T0)
    with pytest.raises(ValidationError) as raised:
        processor.handle(callback({"Text": "hi"}), stamp(0), T0)

    assert raised.value.code == ErrorCode.REPLY_INVALID
    assert store.all_replies() == [] and queue.sent == [] and leases.opted_out == {}


# --- the notifier's side: forwards ------------------------------------------------------

NO_REPLY = "no-reply@gateway.example"


@pytest.fixture
def messages() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def send_queue() -> FakeSendQueue:
    return FakeSendQueue()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def forwarder(messages, send_queue, store, mailer) -> Forwarder:
    return Forwarder(
        messages=messages,
        send_queue=send_queue,
        claims=store,
        mailer=mailer,
        no_reply_email=NO_REPLY,
    )


def forward_jobs(processor, leases, queue, options=OPTIONS) -> dict[str, ForwardJob]:
    leased(leases, options=options)
    processor.handle(inbound("Yes please"), stamp(0), T0)
    return {job.kind: job for job in queue.sent if isinstance(job, ForwardJob)}


def test_an_sms_forward_is_a_new_message_queued_for_the_sender_once_per_reply(
    processor, leases, queue, forwarder, messages, send_queue
):
    job = forward_jobs(processor, leases, queue)[FORWARD_SMS]

    forwarder.forward(job, T0 + 1)
    forwarder.forward(job, T0 + 2)  # a redelivered job

    sid = derived_sid(MESSAGE_PREFIX, f"forward:{job.reply_sid}")
    assert list(messages.items) == [sid]
    message = messages.get(sid)
    assert (message.sender, message.to, message.text, message.status) == (
        R,
        OPTIONS["ForwardToSms"],
        "Yes please",
        QUEUED,
    )
    assert send_queue.message_sids() == [sid, sid]  # the sender's claim sends it once


def test_an_sms_forward_whose_queue_send_fails_stays_queued_for_its_retry(
    processor, leases, queue, forwarder, messages, send_queue
):
    # Given SendQueue refusing the forward's job
    job = forward_jobs(processor, leases, queue)[FORWARD_SMS]
    send_queue.failing = True

    # When the forward is made, fails, and its job is delivered again once SQS is back
    with pytest.raises(RuntimeError):
        forwarder.forward(job, T0 + 1)
    sid = derived_sid(MESSAGE_PREFIX, f"forward:{job.reply_sid}")
    left = messages.get(sid).status
    send_queue.failing = False
    forwarder.forward(job, T0 + 2)

    # Then the message was left queued, not failed, and the retry queued it
    assert left == QUEUED and messages.get(sid).status == QUEUED
    assert send_queue.message_sids() == [sid]


def test_an_sms_forward_is_sent_from_forward_from_sms_when_given(
    processor, leases, queue, forwarder, messages
):
    options = {"ForwardToSms": "+61400999999", "ForwardFromSms": "MyShop"}
    job = forward_jobs(processor, leases, queue, options)[FORWARD_SMS]

    forwarder.forward(job, T0 + 1)

    [message] = [messages.get(sid) for sid in messages.items]
    assert (message.sender, message.sender_type) == ("MyShop", "alphanumeric")


def test_an_email_forward_is_sent_once(processor, leases, queue, forwarder, mailer, store):
    job = forward_jobs(processor, leases, queue)[FORWARD_EMAIL]

    assert forwarder.forward(job, T0 + 1).startswith("sent")
    assert forwarder.forward(job, T0 + 2).startswith("skipped")

    [mail] = mailer.sent
    assert (mail.source, mail.to, mail.subject) == (
        NO_REPLY,
        "ops@example.com",
        f"SMS reply from {R}",
    )
    assert "Yes please" in mail.body
    assert store.forwards[(job.reply_sid, FORWARD_EMAIL)]["State"] == "done"


def test_an_unverified_customer_sender_is_replaced_by_the_no_reply_address(
    processor, leases, queue, forwarder, mailer
):
    options = {"ForwardToEmail": "ops@example.com", "ForwardFromEmail": "shop@example.com"}
    job = forward_jobs(processor, leases, queue, options)[FORWARD_EMAIL]
    mailer.verified = {NO_REPLY}

    forwarder.forward(job, T0 + 1)

    [mail] = mailer.sent
    assert (mail.source, mail.reply_to) == (NO_REPLY, "shop@example.com")


def test_a_refused_email_is_settled_and_not_retried(processor, leases, queue, forwarder, mailer):
    job = forward_jobs(processor, leases, queue)[FORWARD_EMAIL]
    mailer.verified = set()

    assert forwarder.forward(job, T0 + 1).startswith("rejected")
    mailer.verified = None
    assert forwarder.forward(job, T0 + 2).startswith("skipped")
    assert mailer.sent == []


def test_an_unavailable_mail_service_releases_the_claim_for_a_retry(
    processor, leases, queue, forwarder, mailer
):
    job = forward_jobs(processor, leases, queue)[FORWARD_EMAIL]
    mailer.outcomes = [MailUnavailableError("throttled")]

    with pytest.raises(TransientError):
        forwarder.forward(job, T0 + 1)
    assert forwarder.forward(job, T0 + 2).startswith("sent")
    assert len(mailer.sent) == 1


def test_an_email_of_unknown_outcome_is_never_resent(processor, leases, queue, forwarder, mailer):
    job = forward_jobs(processor, leases, queue)[FORWARD_EMAIL]
    mailer.outcomes = [TimeoutError("read timed out")]

    with pytest.raises(TimeoutError):
        forwarder.forward(job, T0 + 1)

    assert forwarder.forward(job, T0 + 2).startswith("skipped")
    assert mailer.sent == []


@pytest.mark.parametrize("days", [None, 7], ids=["kept", "retained"])
def test_a_reply_is_listed_for_retention_only_when_its_property_has_a_period(leases, store, days):
    # Given a live lease of a property with (or without) a retention period
    from smsgw.models.tenant import Property

    tenants = FakeTenantStore()
    tenants.put_property(Property("PR1", "AC1", "Shop", True, retention_days=days))
    leased(leases)
    webhooks = ReplyProcessor(
        carrier=FakeCarrier("twilio"), leases=leases, store=store, tenants=tenants
    )

    # When a reply arrives on it, and one on a number with no lease
    webhooks.handle(inbound(), stamp(0), T0)
    webhooks.handle(inbound(carrier_sid="SMin2", number="+61400000002"), stamp(1), T0)

    # Then only the leased reply of a retaining property is listed for the retention pass
    listed = store.retained_before("PR1", "9999", 10)
    assert len(listed) == (1 if days else 0)
    assert store.retained_before("", "9999", 10) == []
