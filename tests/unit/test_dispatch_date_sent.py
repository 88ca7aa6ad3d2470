"""A message the carrier accepted has its DateSent, its carrier id and SubmitState done
even when the carrier's first receipt moved it before the sender recorded the acceptance
(the carrier simulator sends its `sent` receipt at once; Twilio's can be as quick)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from smsgw.models.carrier import OutcomeUnknownError, SubmitResult
from smsgw.models.message import DELIVERED, FAILED, SENDING, SENT, iso_from_epoch
from tests.fakes.builders import T0
from tests.unit.test_dispatch_use_case import World


@pytest.fixture
def world() -> World:
    return World()


@dataclass(frozen=True, slots=True)
class TwoParts(SubmitResult):
    second: str = ""

    @property
    def further_part_sids(self) -> tuple[str, ...]:
        return (self.second,)


def receipt_first(world: World, status: str, result: SubmitResult, receipt_for: str = ""):
    """A carrier whose receipt (for `receipt_for`, by default the message's id at the
    carrier) lands before its submission's answer."""

    def submit(sms):
        attributes = {"DateFinal": iso_from_epoch(T0)} if status != SENT else {}
        applied = world.receipts.apply(
            sms.message_sid,
            "twilio",
            receipt_for or result.carrier_sid,
            status,
            {"Timestamp": iso_from_epoch(T0), "Source": "receipt"},
            attributes,
        )
        assert applied is not None and applied.changed
        return result

    return submit


@pytest.mark.parametrize("status", [SENT, DELIVERED, FAILED])
def test_a_receipt_before_the_senders_outcome_leaves_the_message_with_its_date_sent(world, status):
    # Given a carrier that accepts the message and whose receipt arrives first
    sid = world.stored()
    world.carrier.outcomes = [receipt_first(world, status, SubmitResult("CA1", "queued"))]

    # When the sender submits it
    outcome = world.deliver(sid)

    # Then the receipt's status stands, and the acceptance is recorded on the message
    assert outcome.status == SENT
    message = world.claims.get(sid)
    assert message.status == status
    assert message.date_sent == iso_from_epoch(T0)
    assert (message.carrier_sid, message.carrier) == ("CA1", "twilio")
    assert world.state(sid) == (status, "done")
    assert world.receipts.message_sid_for("twilio", "CA1") == sid


def test_a_long_message_whose_second_part_receipt_came_first_keeps_every_part_id(world):
    sid = world.stored()
    result = TwoParts("CA1", "queued", second="CA2")
    world.carrier.outcomes = [receipt_first(world, SENT, result, receipt_for="CA2")]

    world.deliver(sid)

    message = world.claims.get(sid)
    assert (message.carrier_sid, message.carrier_part_sids) == ("CA1", ["CA2"])
    assert message.date_sent == iso_from_epoch(T0)


def test_an_unknown_outcome_takes_its_date_sent_from_the_first_receipt(world):
    # Given a submission whose answer was lost (never resent)
    sid = world.stored()
    world.carrier.outcomes = [OutcomeUnknownError("read timeout")]
    assert world.deliver(sid).status == SENDING

    # When the carrier's receipts come after all
    for status, at in ((SENT, T0 + 5), (DELIVERED, T0 + 9)):
        world.receipts.apply(
            sid, "twilio", "CA9", status, {"Timestamp": iso_from_epoch(at), "Source": "receipt"}, {}
        )

    # Then the first one's arrival is its DateSent: the carrier had it by then
    message = world.claims.get(sid)
    assert (message.status, message.date_sent) == (DELIVERED, iso_from_epoch(T0 + 5))
