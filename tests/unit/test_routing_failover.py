"""Routes and failover (smsgw.logic.routing, smsgw.logic.dispatch) on the in-memory fakes:
the longest prefix wins, a message moves to the next carrier of its route only when the
current one definitely did not take it for a reason that is not the message's, an unknown
outcome never moves, and every attempt is on the message's Events."""

from __future__ import annotations

import json

import pytest

from smsgw.carriers import eum, twilio, vonage_codes
from smsgw.errors import ErrorCode, TransientError, ValidationError
from smsgw.logic.dispatch import CARRIER_REJECTED, CARRIER_UNAVAILABLE, Dispatcher
from smsgw.logic.reconcile import Reconciler
from smsgw.logic.routing import checked_carriers, checked_prefix, route_for
from smsgw.logic.send_request_use_case import SendLimits
from smsgw.models.carrier import CarrierError, OutcomeUnknownError, SubmitResult
from smsgw.models.message import FAILED, SENDING, SENT
from smsgw.models.send_job import SendJob
from tests.fakes import (
    FakeCarrier,
    FakeCarriers,
    FakeClaimStore,
    FakeLeaseStore,
    FakePool,
    FakeReceiptStore,
    FakeSendQueue,
    FakeTenantStore,
)
from tests.fakes.builders import T0, a_message

AU = "+61488023555"
US = "+14155550100"

# --- the routing rule ------------------------------------------------------------------


def test_the_longest_matching_prefix_wins():
    routes = {"+6": ("eum",), "+61": ("twilio", "vonage"), "+6148": ("vonage",)}

    assert route_for(routes, "+61488023555", "twilio") == ("vonage",)
    assert route_for(routes, "+61299990000", "twilio") == ("twilio", "vonage")
    assert route_for(routes, "+64211234567", "twilio") == ("eum",)


def test_without_a_matching_prefix_the_default_route_then_the_deployment_carrier_sends():
    assert route_for({"+61": ("vonage",), "default": ("eum", "twilio")}, US, "twilio") == (
        "eum",
        "twilio",
    )
    assert route_for({"+61": ("vonage",)}, US, "twilio") == ("twilio",)
    assert route_for({}, AU, "vonage") == ("vonage",)


@pytest.mark.parametrize("prefix", ["61", "+", "+61a", "+1234567890123456", "", "+ 61"])
def test_a_prefix_that_is_not_plus_and_digits_is_refused(prefix):
    with pytest.raises(ValidationError) as refused:
        checked_prefix(prefix)
    assert refused.value.code == ErrorCode.CARRIER_ROUTE_INVALID


def test_a_prefix_is_stored_as_plus_and_digits_or_default():
    assert checked_prefix(" +61 ") == "+61"
    assert checked_prefix("DEFAULT") == "default"


@pytest.mark.parametrize(
    "names", [[], ["twilio", "twilio"], ["twilio", "sinch"], ["vonage"]], ids=str
)
def test_a_route_names_usable_carriers_each_once(names):
    with pytest.raises(ValidationError) as refused:
        checked_carriers(names, usable=("twilio", "eum"))
    assert refused.value.code == ErrorCode.CARRIER_ROUTE_INVALID


def test_a_route_keeps_its_order():
    assert checked_carriers([" EUM", "twilio"], usable=("twilio", "eum")) == ("eum", "twilio")


# --- which refusals fail over ------------------------------------------------------------


def test_a_transient_error_fails_over_and_a_permanent_one_by_default_does_not():
    assert CarrierError("503", permanent=False).fails_over
    assert not CarrierError("invalid To", permanent=True).fails_over
    assert CarrierError("region not enabled", permanent=True, about_carrier=True).fails_over


def test_each_adapter_names_its_refusals_about_the_carrier():
    assert {"21408", "21606", "21612"} <= twilio.CARRIER_REFUSALS
    assert "21211" not in twilio.CARRIER_REFUSALS  # invalid To: the message's
    assert "21610" not in twilio.CARRIER_REFUSALS  # the recipient unsubscribed
    assert {15, 29} <= vonage_codes.CARRIER_REFUSALS and 3 not in vonage_codes.CARRIER_REFUSALS
    assert "NO_ORIGINATION_IDENTITIES_FOUND" in eum.CARRIER_REFUSALS
    assert "DESTINATION_PHONE_NUMBER_OPTED_OUT" not in eum.CARRIER_REFUSALS


# --- the sender with routes ----------------------------------------------------------------


class World:
    def __init__(self, routes: dict[str, tuple[str, ...]]) -> None:
        self.claims = FakeClaimStore()
        self.twilio = FakeCarrier("twilio")
        self.vonage = FakeCarrier("vonage")
        self.carriers = FakeCarriers({"twilio": self.twilio, "vonage": self.vonage}, routes)
        self.pool = FakePool()
        self.leases = FakeLeaseStore(self.pool, self.claims)
        self.dispatcher = Dispatcher(
            claims=self.claims,
            tenants=FakeTenantStore(),
            queue=FakeSendQueue(),
            opt_outs=self.leases,
            carriers=self.carriers,
            limits=SendLimits(),
            clock=lambda: T0,
            receipts=FakeReceiptStore(self.claims),
        )

    def stored(self, **changes) -> str:
        message = a_message(**changes)
        self.claims.create(message)
        return message.message_sid

    def deliver(self, sid: str, receive_count: int = 1):
        body = json.dumps({"MessageSid": sid})
        return self.dispatcher.handle(SendJob(f"sqs-{sid}", body, receive_count))

    def submissions(self) -> dict[str, int]:
        return {"twilio": len(self.twilio.submissions), "vonage": len(self.vonage.submissions)}

    def attempts(self, sid: str) -> list[tuple[str, str | None]]:
        return [
            (e["Status"], e.get("Carrier"))
            for e in self.claims.get(sid).events
            if e["Status"] != "queued"
        ]


@pytest.fixture
def world() -> World:
    return World({"+61": ("twilio", "vonage")})


@pytest.mark.parametrize(
    "refusal",
    [
        CarrierError("twilio answered 503", permanent=False),
        CarrierError("twilio unreachable: connection refused", permanent=False),
        CarrierError("twilio throttled the request", permanent=False, retry_after=5),
        CarrierError("region not enabled", permanent=True, code="21408", about_carrier=True),
    ],
    ids=["5xx", "connection-refused", "429", "carrier-refusal"],
)
def test_a_carrier_that_did_not_take_the_message_passes_it_to_the_next(world, refusal):
    # Given a route +61 → twilio, vonage, and twilio not taking the message
    sid = world.stored(to=AU)
    world.twilio.outcomes = [refusal]
    world.vonage.outcomes = [SubmitResult("V-1", "accepted")]

    # When the sender handles it
    outcome = world.deliver(sid)

    # Then vonage sent it, one submission at each, and each attempt is on its Events
    message = world.claims.get(sid)
    assert outcome.status == SENT
    assert (message.carrier, message.carrier_sid) == ("vonage", "V-1")
    assert world.submissions() == {"twilio": 1, "vonage": 1}
    assert world.attempts(sid) == [
        (SENDING, None),
        (SENDING, "twilio"),
        (SENT, "vonage"),
    ]
    assert world.claims.get(sid).events[2].get("CarrierErrorCode") == refusal.code
    assert world.deliver(sid).status == SENT and world.submissions()["vonage"] == 1


def test_an_unknown_outcome_never_fails_over_and_reconciliation_asks_that_carrier(world):
    # Given twilio timing out after it read the request
    sid = world.stored(to=AU)
    world.twilio.outcomes = [OutcomeUnknownError("twilio read timeout")]

    # When the sender handles it
    outcome = world.deliver(sid)

    # Then nothing goes to vonage; the message waits for reconciliation at twilio
    assert outcome.status == SENDING
    assert world.submissions() == {"twilio": 1, "vonage": 0}
    assert world.claims.get(sid).carrier == "twilio"
    assert world.claims.is_unsettled(sid)
    world.twilio.holds[sid] = SubmitResult("CA9", "sent")
    reconciler = Reconciler(
        claims=world.claims,
        carrier_for=lambda m: world.carriers.adapter(m.carrier),
        outbound=lambda m, c: world.dispatcher.outbound(m, c),
        grace_seconds=0,
    )
    assert reconciler.run(int(T0) + 10).found == 1
    assert world.claims.get(sid).carrier_sid == "CA9"
    assert world.submissions() == {"twilio": 1, "vonage": 0}


def test_an_unknown_outcome_at_the_second_carrier_is_reconciled_there(world):
    sid = world.stored(to=AU)
    world.twilio.outcomes = [CarrierError("503", permanent=False)]
    world.vonage.outcomes = [OutcomeUnknownError("vonage connection dropped")]

    assert world.deliver(sid).status == SENDING

    assert world.claims.get(sid).carrier == "vonage"
    assert world.submissions() == {"twilio": 1, "vonage": 1}


@pytest.mark.parametrize(
    "refusal",
    [
        CarrierError("invalid To", permanent=True, code="21211", carrier_message="Invalid To"),
        CarrierError("vonage took 1 of 2 parts", permanent=True, code="6"),
    ],
    ids=["invalid-number", "partly-taken"],
)
def test_a_refusal_about_the_message_fails_it_without_failover(world, refusal):
    sid = world.stored(to=AU)
    world.twilio.outcomes = [refusal]

    assert world.deliver(sid).status == FAILED

    message = world.claims.get(sid)
    assert (message.error_code, message.carrier) == (CARRIER_REJECTED, "twilio")
    assert world.submissions() == {"twilio": 1, "vonage": 0}


def test_when_every_carrier_is_unavailable_the_job_is_retried_from_the_first(world):
    sid = world.stored(to=AU)
    world.twilio.outcomes = [CarrierError("503", permanent=False)]
    world.vonage.outcomes = [CarrierError("vonage answered 500", permanent=False)]

    with pytest.raises(TransientError):
        world.deliver(sid)
    assert world.submissions() == {"twilio": 1, "vonage": 1}

    # the queue's retry starts at twilio again, which now takes it; while it is asked, the
    # message names no carrier (a claim that ended there unrecorded is asked at twilio)
    carrier_while_submitting = []

    def accept(sms):
        carrier_while_submitting.append(world.claims.get(sid).carrier)
        return SubmitResult("CA2", "queued")

    world.twilio.outcomes = [accept]
    assert world.deliver(sid, receive_count=2).status == SENT
    assert carrier_while_submitting == [None]
    assert world.claims.get(sid).carrier == "twilio"
    assert world.submissions() == {"twilio": 2, "vonage": 1}


def test_on_the_last_attempt_every_carrier_unavailable_fails_the_message(world):
    sid = world.stored(to=AU)
    world.twilio.outcomes = [CarrierError("503", permanent=False)]
    world.vonage.outcomes = [CarrierError("429", permanent=False)]

    assert world.deliver(sid, receive_count=5).status == FAILED

    message = world.claims.get(sid)
    assert (message.error_code, message.carrier) == (CARRIER_UNAVAILABLE, "vonage")


def test_a_carrier_without_credentials_is_passed_over():
    world = World({"+61": ("eum", "vonage")})
    sid = world.stored(to=AU)

    assert world.deliver(sid).status == SENT

    assert world.claims.get(sid).carrier == "vonage"
    assert world.attempts(sid) == [(SENDING, None), (SENDING, "eum"), (SENT, "vonage")]


def test_a_destination_without_a_route_goes_to_the_deployment_carrier_alone(world):
    sid = world.stored(to=US)
    world.twilio.outcomes = [CarrierError("503", permanent=False)]

    with pytest.raises(TransientError):
        world.deliver(sid)

    assert world.submissions() == {"twilio": 1, "vonage": 0}


def test_a_leased_number_sends_through_its_own_carrier_only():
    # Given a route that prefers twilio, and a leased number that belongs to vonage
    world = World({"+61": ("twilio", "vonage")})
    world.carriers.pool_carriers["+61400000001"] = "vonage"
    sid = world.stored(to=AU, sender="+61400000001", lease="LS" + "1" * 32)
    world.vonage.outcomes = [CarrierError("vonage answered 500", permanent=False)]

    # When vonage is down, the message waits for it: replies come back there
    with pytest.raises(TransientError):
        world.deliver(sid)

    assert world.submissions() == {"twilio": 0, "vonage": 1}
