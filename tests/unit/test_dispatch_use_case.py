"""The sender's use case (smsgw.logic.dispatch.Dispatcher) on the in-memory fakes: one
carrier submission per message however often its job comes, the outcome policy (sent,
failed, retried, unknown and never resent), a dead sender's claim left to
reconciliation, and raw send requests stored once."""

from __future__ import annotations

import json

import pytest

from smsgw.dal.tenant_store import Account, Property
from smsgw.errors import ErrorCode, TransientError
from smsgw.ids import MESSAGE_PREFIX, derived_sid
from smsgw.kernel.scheduling import shard_of
from smsgw.logic.dispatch import CARRIER_REJECTED, CARRIER_UNAVAILABLE, Dispatcher
from smsgw.logic.leases import Leasing
from smsgw.logic.send_request_use_case import SendLimits
from smsgw.models.carrier import CarrierError, OutcomeUnknownError, SubmitResult
from smsgw.models.message import FAILED, QUEUED, REJECTED, SCHEDULED, SENDING, SENT
from smsgw.models.send_job import STALE_CLAIM_SECONDS, SendJob
from tests.fakes import (
    FakeCarrier,
    FakeClaimStore,
    FakeLeaseStore,
    FakePool,
    FakeReceiptStore,
    FakeSendQueue,
    FakeTenantStore,
)
from tests.fakes.builders import T0, a_message

ACCOUNT, PROPERTY = "AC" + "1" * 32, "PR" + "1" * 32


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self) -> None:
        self.clock = Clock()
        self.claims = FakeClaimStore()
        self.queue = FakeSendQueue()
        self.carrier = FakeCarrier("twilio")
        self.receipts = FakeReceiptStore(self.claims)
        self.tenants = FakeTenantStore()
        self.tenants.put_account(Account(ACCOUNT, "Acme", sms_enabled=True))
        self.tenants.put_property(Property(PROPERTY, ACCOUNT, "Shop", sms_enabled=True))
        self.pool = FakePool()
        self.pool.add("+61400000001", ("AU",))
        self.leases = FakeLeaseStore(self.pool, self.claims)
        self.dispatcher = Dispatcher(
            claims=self.claims,
            tenants=self.tenants,
            queue=self.queue,
            opt_outs=self.leases,
            carrier=self.carrier,
            limits=SendLimits(),
            clock=self.clock,
            receipts=self.receipts,
            leasing=Leasing(leases=self.leases, pool=self.pool),
        )

    def stored(self, **changes) -> str:
        message = a_message(**changes)
        self.claims.create(message)
        return message.message_sid

    def deliver(self, sid: str, receive_count: int = 1):
        body = json.dumps({"MessageSid": sid})
        return self.dispatcher.handle(SendJob(f"sqs-{sid}", body, receive_count))

    def deliver_raw(self, body, message_id: str = "sqs-raw-1", receive_count: int = 1):
        text = body if isinstance(body, str) else json.dumps(body)
        return self.dispatcher.handle(SendJob(message_id, text, receive_count))

    def state(self, sid: str) -> tuple[str, str | None]:
        message, submit_state = self.claims.get_submit_state(sid)
        return message.status, submit_state


@pytest.fixture
def world() -> World:
    return World()


def test_a_queued_message_is_submitted_once_and_sent(world):
    sid = world.stored()
    world.carrier.outcomes = [SubmitResult("CA1", "queued")]

    outcome = world.deliver(sid)

    assert (outcome.message_sid, outcome.status) == (sid, SENT)
    message = world.claims.get(sid)
    assert (message.status, message.carrier_sid, message.carrier) == (SENT, "CA1", "twilio")
    assert [e["Status"] for e in message.events] == [QUEUED, SENDING, SENT]
    assert world.carrier.submitted_sids() == [sid]
    assert world.receipts.message_sid_for("twilio", "CA1") == sid


def test_redelivered_and_duplicate_jobs_never_submit_again(world):
    sid = world.stored()

    outcomes = [world.deliver(sid, receive_count=n) for n in (1, 1, 2, 3)]

    assert [o.status for o in outcomes] == [SENT] * 4
    assert world.carrier.submitted_sids() == [sid]


def test_a_permanent_refusal_fails_the_message_with_the_carriers_code(world):
    sid = world.stored()
    world.carrier.outcomes = [
        CarrierError("400", permanent=True, code="21211", carrier_message="Invalid 'To'")
    ]

    assert world.deliver(sid).status == FAILED

    message = world.claims.get(sid)
    assert (message.status, message.error_code) == (FAILED, CARRIER_REJECTED)
    assert message.events[-1]["CarrierErrorCode"] == "21211"
    assert world.state(sid) == (FAILED, "done")
    assert world.deliver(sid).status == FAILED and len(world.carrier.submissions) == 1


def test_a_transient_refusal_is_retried_by_the_queue_and_then_sent_once(world):
    sid = world.stored()
    world.carrier.outcomes = [CarrierError("503", permanent=False, retry_after=30)]

    with pytest.raises(TransientError) as raised:
        world.deliver(sid, receive_count=1)

    assert raised.value.retry_after == 30
    assert world.state(sid) == (SENDING, "retryable")
    assert world.deliver(sid, receive_count=2).status == SENT
    assert world.deliver(sid, receive_count=3).status == SENT
    assert world.carrier.submitted_sids() == [sid, sid]
    assert world.claims.submit_attempts(sid) == 2


def test_a_transient_refusal_on_the_last_attempt_fails_the_message(world):
    sid = world.stored()
    world.carrier.outcomes = [CarrierError("503", permanent=False)]

    assert world.deliver(sid, receive_count=5).status == FAILED

    message = world.claims.get(sid)
    assert (message.status, message.error_code) == (FAILED, CARRIER_UNAVAILABLE)


def test_an_unknown_outcome_is_never_resent_and_waits_for_reconciliation(world):
    sid = world.stored()
    world.carrier.outcomes = [OutcomeUnknownError("read timeout")]

    assert world.deliver(sid).status == SENDING
    assert world.state(sid) == (SENDING, "unknown")
    assert list(world.claims.unsettled(shard_of(sid), T0 + 1)) == [(sid, T0)]
    assert world.claims.get(sid).carrier == "twilio"

    world.clock.now = T0 + 600
    assert world.deliver(sid, receive_count=2).status == SENDING
    assert world.carrier.submitted_sids() == [sid]


def test_a_claim_whose_sender_died_is_left_for_reconciliation_not_resent(world):
    sid = world.stored()
    world.claims.claim(sid, {"Status": SENDING, "Timestamp": "x"}, T0, due_by=T0 + 1)

    world.clock.now = T0 + STALE_CLAIM_SECONDS - 1  # its sender may still be working
    world.deliver(sid, receive_count=2)
    assert not world.claims.is_unsettled(sid)

    world.clock.now = T0 + STALE_CLAIM_SECONDS + 120  # the job came back after its timeout
    assert world.deliver(sid, receive_count=2).status == SENDING

    assert list(world.claims.unsettled(shard_of(sid), T0 + 1)) == [(sid, T0)]
    assert world.carrier.submissions == []


def test_a_message_not_due_is_put_back_with_the_delay_that_remains(world):
    sid = world.stored(status=SCHEDULED, deliver_at=T0 + 300, schedule=T0 + 300)

    assert world.deliver(sid).status == SCHEDULED

    assert [(job.message_sid, job.delay_seconds) for job in world.queue.jobs] == [(sid, 300)]
    assert world.carrier.submissions == []
    world.clock.now = T0 + 300
    assert world.deliver(sid).status == SENT


def test_a_job_for_no_stored_message_is_acknowledged(world):
    assert world.deliver("SM" + "0" * 32).status == "missing"
    assert world.carrier.submissions == []


def raw(**fields):
    return (
        {"PropertySid": PROPERTY, "From": "+61499009990", "To": "+61488023555"}
        | {"Text": "Hello from another service"}
        | fields
    )


def test_a_raw_request_is_stored_once_and_sent_once(world):
    sid = derived_sid(MESSAGE_PREFIX, "sqs-raw-1")

    first = world.deliver_raw(raw())
    again = world.deliver_raw(raw())

    assert (first.message_sid, first.status) == (sid, SENT)
    assert again.message_sid == sid
    assert list(world.claims.items) == [sid]
    assert world.claims.get(sid).source == "sqs"
    assert world.carrier.submitted_sids() == [sid]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", ErrorCode.INVALID_JSON),
        ({"From": "+61499009990", "To": "+61488023555", "Text": "x"}, ErrorCode.PROPERTY_NOT_FOUND),
        (raw(PropertySid="PR" + "9" * 32), ErrorCode.PROPERTY_NOT_FOUND),
    ],
)
def test_an_invalid_raw_request_becomes_a_rejected_message(world, body, code):
    outcome = world.deliver_raw(body)

    assert outcome.status == REJECTED
    stored = world.claims.items[outcome.message_sid]  # read raw: see the test below
    assert (stored["Status"], stored["ErrorCode"]) == (REJECTED, code.number)
    assert world.carrier.submissions == []


def test_a_redelivered_raw_request_without_a_from_finds_its_rejected_message(world):
    first = world.deliver_raw("not json")

    again = world.deliver_raw("not json")

    assert (again.message_sid, again.status) == (first.message_sid, REJECTED)


def test_a_raw_request_to_an_opted_out_recipient_is_rejected(world):
    world.leases.opt_out(ACCOUNT, "+61488023555", "2027-01-15T08:00:00.000Z", "RE1")

    outcome = world.deliver_raw(raw())

    assert outcome.status == REJECTED
    assert world.claims.get(outcome.message_sid).error_code == ErrorCode.RECIPIENT_OPTED_OUT.number
    assert world.carrier.submissions == []


def test_a_raw_request_with_a_blank_from_is_sent_from_a_leased_number(world):
    outcome = world.deliver_raw(raw(From=""))

    assert outcome.status == SENT
    assert [sms.sender for sms in world.carrier.submissions] == ["+61400000001"]
    assert world.claims.get(outcome.message_sid).lease["Number"] == "+61400000001"


def test_a_raw_request_scheduled_beyond_the_queues_delay_waits_in_the_table(world):
    at = T0 + 3600
    outcome = world.deliver_raw(raw(Schedule=at))

    assert outcome.status == SCHEDULED
    assert world.claims.is_waiting(outcome.message_sid)
    assert world.carrier.submissions == [] and world.queue.jobs == []
