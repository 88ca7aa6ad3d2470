"""The sender checks the recipient's opt-out right before it submits (docs/leases.md,
"Opt-out"): a message queued, scheduled, retried, raw or forwarded before the recipient
replied STOP ends `failed` with ErrorCode 22003 and never reaches the carrier."""

from __future__ import annotations

import pytest

from smsgw import explanations
from smsgw.errors import ErrorCode, TransientError
from smsgw.models.carrier import CarrierError
from smsgw.models.message import FAILED, SCHEDULED, SENDING, SENT
from tests.fakes.builders import T0
from tests.unit.test_dispatch_use_case import ACCOUNT, World

RECIPIENT = "+61488023555"
OPTED_OUT = ErrorCode.RECIPIENT_OPTED_OUT.number


@pytest.fixture
def world() -> World:
    return World()


def stop(world: World, account: str = ACCOUNT, recipient: str = RECIPIENT) -> None:
    world.leases.opt_out(account, recipient, "2027-01-15T08:00:00.000Z", "RE1")


def assert_refused(world: World, sid: str) -> None:
    message = world.claims.get(sid)
    assert (message.status, message.error_code) == (FAILED, OPTED_OUT)
    assert message.error_message == explanations.RECIPIENT_OPTED_OUT_AT_SEND
    assert message.date_final and not message.date_sent
    last = message.events[-1]
    assert (last["Status"], last["ErrorCode"], last["Detail"]) == (
        FAILED,
        OPTED_OUT,
        explanations.RECIPIENT_OPTED_OUT_AT_SEND,
    )
    assert world.state(sid) == (FAILED, "done")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"status": SCHEDULED, "deliver_at": T0, "schedule": T0},
        {"source": "forward"},
        {"source": "sqs"},
    ],
    ids=["queued", "scheduled", "forward", "raw"],
)
def test_a_message_to_a_recipient_who_opted_out_since_it_was_accepted_is_failed_not_sent(
    world, changes
):
    # Given a message accepted before its recipient replied STOP to the account
    sid = world.stored(**changes)
    stop(world)

    # When its job reaches the sender
    outcome = world.deliver(sid)

    # Then nothing is submitted and the message is failed with 22003
    assert (outcome.message_sid, outcome.status) == (sid, FAILED)
    assert_refused(world, sid)
    assert world.carrier.submissions == []


def test_a_retried_message_is_failed_when_its_recipient_opted_out_between_attempts(world):
    sid = world.stored()
    world.carrier.outcomes = [CarrierError("503", permanent=False)]
    with pytest.raises(TransientError):
        world.deliver(sid, receive_count=1)
    stop(world)

    assert world.deliver(sid, receive_count=2).status == FAILED

    assert_refused(world, sid)
    assert len(world.carrier.submissions) == 1  # the refused first attempt only


def test_a_redelivered_job_of_a_refused_message_does_nothing_more(world):
    sid = world.stored()
    stop(world)
    world.deliver(sid)
    events = list(world.claims.get(sid).events)

    assert [world.deliver(sid, receive_count=n).status for n in (1, 2)] == [FAILED, FAILED]

    assert world.claims.get(sid).events == events
    assert world.carrier.submissions == []


def test_an_opt_out_from_another_account_does_not_stop_the_send(world):
    sid = world.stored()
    stop(world, account="AC" + "2" * 32)

    assert world.deliver(sid).status == SENT


def test_after_an_opt_in_a_new_job_is_sent(world):
    stop(world)
    world.leases.opt_in(ACCOUNT, RECIPIENT)
    sid = world.stored()

    assert world.deliver(sid).status == SENT


def test_an_opt_out_lookup_that_fails_releases_the_claim_for_a_retry(world):
    sid = world.stored()
    world.leases.is_opted_out = _raise  # DynamoDB throttled beyond the SDK's retries

    with pytest.raises(TransientError):
        world.deliver(sid, receive_count=1)

    assert world.state(sid) == (SENDING, "retryable")
    assert world.carrier.submissions == []
    del world.leases.is_opted_out
    assert world.deliver(sid, receive_count=2).status == SENT
    assert world.carrier.submitted_sids() == [sid]


def _raise(*args, **kwargs):
    raise RuntimeError("ProvisionedThroughputExceededException")
