"""What a reply forwarded by SMS or e-mail says, and when it is not forwarded
(smsgw.logic.replies, on the in-memory fakes): printable text only, within the API's
Text limit, nothing by SMS for an empty reply, and one hop only: our own SMS forward
arriving on a leased number is stored, never forwarded again."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from smsgw.kernel.text import analyse
from smsgw.logic.replies import (
    TRUNCATED_MARKER,
    Forwarder,
    ReplyResult,
    email_content,
)
from smsgw.models.lease import FORWARD_EMAIL, FORWARD_SMS, REPLY_WEBHOOK, ForwardJob
from tests.fakes import (
    FakeCallbackQueue,
    FakeLeaseStore,
    FakeMailer,
    FakeMessageStore,
    FakePool,
    FakeReplyStore,
    FakeSendQueue,
)
from tests.fakes.builders import T0, a_lease
from tests.unit.test_replies_use_case import (
    NO_REPLY,
    N,
    R,
    ThroughTheStream,
    forward_jobs,
    inbound,
    leased,
    stamp,
)

N2 = "+61400000002"


@dataclass
class Gateway:
    """The reply side (with the notifier queuing its forwards from the stream) and the
    notifier's forwarder on one set of fakes."""

    pool: FakePool = field(default_factory=FakePool)
    store: FakeReplyStore = field(default_factory=FakeReplyStore)
    queue: FakeCallbackQueue = field(default_factory=FakeCallbackQueue)
    messages: FakeMessageStore = field(default_factory=FakeMessageStore)
    send_queue: FakeSendQueue = field(default_factory=FakeSendQueue)
    mailer: FakeMailer = field(default_factory=FakeMailer)

    def __post_init__(self) -> None:
        self.pool.add(N, ("AU",))
        self.pool.add(N2, ("AU",))
        self.leases = FakeLeaseStore(self.pool)
        self.processor = ThroughTheStream(self.leases, self.store, self.queue)
        self.forwarder = self.forwarder_with()

    def forwarder_with(self, **limits: int) -> Forwarder:
        return Forwarder(
            messages=self.messages,
            send_queue=self.send_queue,
            claims=self.store,
            mailer=self.mailer,
            no_reply_email=NO_REPLY,
            **limits,
        )


@pytest.fixture
def gw() -> Gateway:
    return Gateway()


def forwarded_message(forwarder, messages, job):
    forwarder.forward(job, T0 + 1)
    [message] = [messages.get(sid) for sid in messages.items]
    return message


def test_a_long_reply_is_forwarded_within_the_apis_text_limit(gw):
    # Given a 10,000-character reply
    leased(gw.leases)
    gw.processor.handle(inbound("x" * 10_000), stamp(0), T0)
    job = next(j for j in gw.queue.sent if getattr(j, "kind", "") == FORWARD_SMS)

    # When it is forwarded by SMS
    message = forwarded_message(gw.forwarder, gw.messages, job)

    # Then the whole forwarded text obeys the API's 1,600-character limit, marked as cut
    assert len(message.text) == 1600
    assert message.text.startswith("x" * 1500) and message.text.endswith(TRUNCATED_MARKER)
    assert message.segments == analyse(message.text).segments == 11


def test_a_forward_obeys_the_deployments_own_text_limit(gw):
    forwarder = gw.forwarder_with(max_text_characters=160)
    job = forward_jobs(gw.processor, gw.leases, gw.queue)[FORWARD_SMS]
    job.reply["Text"] = "y" * 500

    assert len(forwarded_message(forwarder, gw.messages, job).text) == 160


@pytest.mark.parametrize("text", ["", "\x00\u202e"])
def test_an_empty_reply_is_stored_but_not_forwarded_by_sms(gw, text):
    leased(gw.leases)

    outcome = gw.processor.handle(inbound(text), stamp(0), T0)

    assert outcome.forwards == (FORWARD_EMAIL, REPLY_WEBHOOK)
    assert gw.queue.kinds() == [FORWARD_EMAIL, REPLY_WEBHOOK]
    assert [reply.text for reply in gw.store.all_replies()] == [text]


def test_an_sms_forward_job_of_an_empty_reply_sends_nothing(gw):
    job = forward_jobs(gw.processor, gw.leases, gw.queue)[FORWARD_SMS]
    job.reply["Text"] = ""  # a job queued before empty replies were left out

    assert gw.forwarder.forward(job, T0 + 1).startswith("skipped")
    assert gw.messages.items == {} and gw.send_queue.message_sids() == []


HOSTILE = "Hi\x00\x07 \u202eevil\u202c\u2066x\u2069\u200f\r\nbye\x1b[2J"


def test_control_and_bidi_characters_are_removed_from_forwards_not_from_the_reply(gw):
    leased(gw.leases)
    gw.processor.handle(inbound(HOSTILE, responder="+61488023555"), stamp(0), T0)
    jobs = {job.kind: job for job in gw.queue.sent if isinstance(job, ForwardJob)}

    sms = forwarded_message(gw.forwarder, gw.messages, jobs[FORWARD_SMS])
    gw.forwarder.forward(jobs[FORWARD_EMAIL], T0 + 1)

    assert sms.text == "Hi evilx\nbye[2J"
    [mail] = gw.mailer.sent
    assert mail.body.startswith("Hi evilx\nbye[2J\n\n--\n")
    assert mail.subject == "SMS reply from +61488023555"
    # the stored reply and the reply's resource keep exactly what was received
    [reply] = gw.store.all_replies()
    assert reply.text == HOSTILE and jobs[FORWARD_SMS].reply["Text"] == HOSTILE


def test_the_email_subject_is_one_printable_line_whatever_the_sender():
    subject, body = email_content(
        {"From": "+6148\u202e8023555\r\nBcc: x@evil.com", "To": N, "Text": "a\u2066b"}
    )

    assert subject == "SMS reply from +61488023555 Bcc: x@evil.com"
    assert body.startswith("ab\n\n--\n")


def two_leases_forwarding_to_each_other(leases):
    """Leases of two properties to R, each forwarding by SMS to the other's number (as
    leases made before such a target was refused, or before the number joined the pool)."""
    first = a_lease(number=N, response_options={"ForwardToSms": N2})
    second = a_lease(
        number=N2,
        property_sid="PR2",
        slot=2,
        last_message_sid="SM2",
        response_options={"ForwardToSms": N, "WebhookUri": "https://a.example/replies"},
    )
    leases.allocate(first, "AU", T0 - 1)
    leases.allocate(second, "AU", T0 - 1)
    return first, second


def test_a_reply_that_is_our_own_sms_forward_arriving_is_stored_but_not_forwarded_again(gw):
    # Given R's reply on N1 forwarded by SMS to N2 (from R's number: the default)
    first, second = two_leases_forwarding_to_each_other(gw.leases)
    gw.processor.handle(inbound("YES please"), stamp(0), T0)
    [job] = gw.queue.sent
    forward = forwarded_message(gw.forwarder, gw.messages, job)
    assert (forward.sender, forward.to) == (R, N2)

    # When that forward arrives on N2 as an inbound SMS from R
    outcome = gw.processor.handle(
        inbound(forward.text, carrier_sid="SMin2", number=N2), stamp(5), T0 + 5
    )

    # Then it is stored on the second lease, and nothing is forwarded: one hop only
    assert (outcome.result, outcome.forwards) == (ReplyResult.STORED, ())
    assert gw.queue.sent == [job]
    assert [r.lease_id for r in gw.store.all_replies()] == [first.lease_id, second.lease_id]


def test_a_new_reply_on_the_forwards_number_is_still_forwarded(gw):
    two_leases_forwarding_to_each_other(gw.leases)
    gw.processor.handle(inbound("YES please"), stamp(0), T0)
    forwarded_message(gw.forwarder, gw.messages, gw.queue.sent[0])

    # R writes something else to N2 themselves
    outcome = gw.processor.handle(
        inbound("And one more thing", carrier_sid="SMin2", number=N2), stamp(5), T0 + 5
    )

    assert outcome.result == ReplyResult.ROUTED and outcome.forwards == (FORWARD_SMS, REPLY_WEBHOOK)
