"""The sender and a message's `ValidityPeriod` (docs/api.md), on the in-memory fakes: a
message whose validity ran out before its claim is failed with 30005 and never submitted;
one submitted in time carries the time that remains to the carrier; retries never extend
it."""

from __future__ import annotations

import pytest

from smsgw import explanations
from smsgw.errors import TransientError
from smsgw.logic.dispatch import VALIDITY_PERIOD_EXPIRED
from smsgw.models.carrier import CarrierError
from smsgw.models.message import FAILED, QUEUED, SCHEDULED, SENDING, SENT
from smsgw.send_batch import retry_delay
from tests.fakes.builders import T0
from tests.unit.test_dispatch_use_case import World


@pytest.fixture
def world() -> World:
    return World()


def valid_for(seconds: int, from_: int = T0, **changes) -> dict:
    return {"deliver_at": from_, "validity_period": seconds, "valid_until": from_ + seconds} | (
        changes
    )


def assert_expired(world: World, sid: str) -> None:
    message = world.claims.get(sid)
    assert (message.status, message.error_code) == (FAILED, VALIDITY_PERIOD_EXPIRED)
    assert message.error_message == explanations.VALIDITY_PERIOD_EXPIRED
    assert message.date_final and not message.date_sent
    last = message.events[-1]
    assert (last["Status"], last["ErrorCode"], last["Detail"]) == (
        FAILED,
        VALIDITY_PERIOD_EXPIRED,
        explanations.VALIDITY_PERIOD_EXPIRED,
    )
    assert world.state(sid) == (FAILED, "done")


def test_a_message_claimed_after_its_validity_ran_out_is_failed_and_never_submitted(world):
    # Given a message valid for 60 s that waited 60 s in the queue
    sid = world.stored(**valid_for(60))
    world.clock.now = T0 + 60

    # When its job reaches the sender
    outcome = world.deliver(sid)

    # Then nothing is submitted, and the message is failed with 30005 and says why
    assert (outcome.message_sid, outcome.status) == (sid, FAILED)
    assert world.carrier.submissions == []
    assert_expired(world, sid)
    assert [e["Status"] for e in world.claims.get(sid).events] == [QUEUED, SENDING, FAILED]


def test_a_message_claimed_within_its_validity_is_sent_with_the_time_that_remains(world):
    sid = world.stored(**valid_for(600))
    world.clock.now = T0 + 120.4

    assert world.deliver(sid).status == SENT

    [sms] = world.carrier.submissions
    assert sms.validity_seconds == 480  # rounded up: 479.6 s remain


def test_a_message_without_a_validity_period_has_none_for_the_carrier(world):
    sid = world.stored()
    world.clock.now = T0 + 10**6

    assert world.deliver(sid).status == SENT
    assert world.carrier.submissions[0].validity_seconds is None


def test_retries_after_carrier_errors_never_extend_the_validity(world):
    # Given a message valid for 120 s whose carrier refuses it twice
    sid = world.stored(**valid_for(120))
    world.carrier.outcomes = [CarrierError("503", permanent=False)] * 2
    with pytest.raises(TransientError):
        world.deliver(sid, receive_count=1)
    world.clock.now = T0 + 60
    with pytest.raises(TransientError):
        world.deliver(sid, receive_count=2)
    # (each attempt got the time that remained then)
    assert [sms.validity_seconds for sms in world.carrier.submissions] == [120, 60]

    # When the next retry comes after the deadline set at acceptance
    world.clock.now = T0 + 121
    outcome = world.deliver(sid, receive_count=3)

    # Then it is failed with the validity's code, not tried a third time
    assert outcome.status == FAILED
    assert len(world.carrier.submissions) == 2
    assert_expired(world, sid)


def test_a_scheduled_message_counts_its_validity_from_its_schedule(world):
    due = T0 + 3600
    sid = world.stored(status=SCHEDULED, schedule=due, **valid_for(60, from_=due))
    world.clock.now = due + 30

    assert world.deliver(sid).status == SENT
    assert world.carrier.submissions[0].validity_seconds == 30


def test_an_expired_message_is_failed_before_the_opt_out_is_read(world):
    sid = world.stored(**valid_for(1))
    world.leases.is_opted_out = _unreachable
    world.clock.now = T0 + 5

    assert world.deliver(sid).status == FAILED
    assert_expired(world, sid)


def test_a_redelivered_job_of_an_expired_message_does_nothing_more(world):
    sid = world.stored(**valid_for(1))
    world.clock.now = T0 + 5
    world.deliver(sid)
    events = list(world.claims.get(sid).events)

    assert [world.deliver(sid, receive_count=n).status for n in (1, 2)] == [FAILED, FAILED]
    assert world.claims.get(sid).events == events
    assert world.carrier.submissions == []


def test_a_raw_request_with_a_validity_period_is_stored_with_its_deadline_and_sent(world):
    from tests.unit.test_dispatch_use_case import PROPERTY

    body = {
        "PropertySid": PROPERTY,
        "From": "+61499009990",
        "To": "+61488023555",
        "Text": "Your code is 4321",
        "ValidityPeriod": 300,
    }

    outcome = world.deliver_raw(body)

    assert outcome.status == SENT
    message = world.claims.get(outcome.message_sid)
    assert (message.validity_period, message.valid_until) == (300, T0 + 300)
    assert world.carrier.submissions[0].validity_seconds == 300


def _unreachable(*_):
    raise AssertionError("an expired message needs no opt-out lookup")


def test_a_refused_message_is_retried_no_later_than_its_validity_deadline(world):
    # Given a message valid for 120 s whose carrier is unavailable 100 s after acceptance
    sid = world.stored(**valid_for(120))
    world.carrier.outcomes = [CarrierError("503", permanent=False)]
    world.clock.now = T0 + 100.5

    # When the sender is refused
    with pytest.raises(TransientError) as refused:
        world.deliver(sid)

    # Then the retry is put off by no more than the 20 s left (rounded up): it comes back
    # at the deadline and is failed then, not after the whole backoff
    assert refused.value.expires_in == 20
    assert retry_delay(3, None, refused.value.expires_in) == 20
    assert retry_delay(1, 600, refused.value.expires_in) == 20  # a Retry-After too
    assert retry_delay(1, 2, refused.value.expires_in) == 2  # a shorter wait stays
    assert retry_delay(1, None, 0) == 1  # no time left: back in a second, to be failed
    world.clock.now = T0 + 100.5 + 20
    assert world.deliver(sid, receive_count=2).status == FAILED
    assert_expired(world, sid)


def test_a_refused_message_without_a_validity_period_keeps_its_whole_backoff(world):
    sid = world.stored()
    world.carrier.outcomes = [CarrierError("503", permanent=False)]

    with pytest.raises(TransientError) as refused:
        world.deliver(sid)

    assert refused.value.expires_in is None
    assert retry_delay(1, 600, refused.value.expires_in) == 600
