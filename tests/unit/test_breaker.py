"""Circuit breakers per carrier (smsgw.logic.breaker) on the in-memory fakes: a breaker
opens when most of the last N submissions failed transiently, new messages
then skip its carrier for the next of their route, and after the cool-down a few probe it:
a success closes it, a failure opens it again. A breaker never causes a submission."""

from __future__ import annotations

import json

import pytest

from smsgw.errors import TransientError
from smsgw.logic.breaker import BreakerPolicy, CircuitBreakers, Gate
from smsgw.logic.dispatch import Dispatcher
from smsgw.logic.send_request_use_case import SendLimits
from smsgw.models.carrier import CarrierError, OutcomeUnknownError
from smsgw.models.message import SENT
from smsgw.models.send_job import SendJob
from tests.fakes import (
    FakeBreakerStore,
    FakeCarrier,
    FakeCarriers,
    FakeClaimStore,
    FakeLeaseStore,
    FakePool,
    FakeSendQueue,
    FakeTenantStore,
)
from tests.fakes.builders import T0, a_message

POLICY = BreakerPolicy(submissions=4, cooldown_seconds=30, probes=2)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breakers(clock) -> CircuitBreakers:
    # no cache: each gate reads the store, as another process's breaker would be seen
    return CircuitBreakers(
        FakeBreakerStore(), POLICY, clock=clock, state_cache_seconds=0, monotonic=clock
    )


def results(breakers, carrier, *failed):
    """One batch's results at `carrier`."""
    for one in failed:
        breakers.record(carrier, Gate.CLOSED, one)
    breakers.flush()


def test_most_of_the_last_n_submissions_failing_opens_the_breaker(breakers):
    results(breakers, "twilio", True, False, True)
    assert breakers.gate("twilio") is Gate.CLOSED  # 2 of N = 4: not most

    results(breakers, "twilio", True)  # 3 of the last 4 failed

    assert breakers.gate("twilio") is Gate.OPEN
    assert breakers.gate("vonage") is Gate.CLOSED


def test_a_batch_is_counted_in_one_write_per_carrier(clock):
    class Counting(FakeBreakerStore):
        writes = 0

        def record(self, *args):
            Counting.writes += 1
            return super().record(*args)

    store = Counting()
    breakers = CircuitBreakers(store, POLICY, clock=clock)
    for failed in (True, False, True, True, False, True):
        breakers.record("twilio", Gate.CLOSED, failed)
    breakers.record("vonage", Gate.CLOSED, False)

    breakers.flush()

    assert Counting.writes == 2
    assert store.histories["twilio"] == "1101"  # the last N = 4 of 101101
    assert breakers.gate("twilio") is Gate.OPEN


def test_half_or_fewer_failing_keeps_it_closed(breakers):
    results(breakers, "twilio", True, False, True, False, False, True)

    assert breakers.gate("twilio") is Gate.CLOSED


def test_a_busy_carrier_opens_after_about_n_failures_whatever_came_before(breakers, clock):
    # Given a carrier that took 500 messages in the last few seconds
    for _ in range(50):
        results(breakers, "twilio", *[False] * 10)
    clock.now += 5

    # When it starts failing, then most of its last N = 4 results open it
    results(breakers, "twilio", True, True)
    assert breakers.gate("twilio") is Gate.CLOSED
    results(breakers, "twilio", True)

    assert breakers.gate("twilio") is Gate.OPEN


def test_failures_pushed_out_of_the_last_n_by_successes_do_not_count(breakers):
    results(breakers, "twilio", True, True, False, False, False)
    results(breakers, "twilio", True)  # the last 4: 0, 0, 0, 1

    assert breakers.gate("twilio") is Gate.CLOSED


def test_after_the_cool_down_a_few_probe_and_a_success_closes_it(breakers, clock):
    results(breakers, "twilio", True, True, True, True)
    clock.now += 29
    assert breakers.gate("twilio") is Gate.OPEN

    clock.now += 1
    gates = [breakers.gate("twilio") for _ in range(3)]
    assert gates == [Gate.PROBE, Gate.PROBE, Gate.OPEN]  # two probes, then wait for them

    breakers.record("twilio", Gate.PROBE, False)
    assert breakers.gate("twilio") is Gate.CLOSED
    # the outage's failures are forgotten: one more does not reopen it
    results(breakers, "twilio", True)
    assert breakers.gate("twilio") is Gate.CLOSED


def test_probes_that_never_report_are_handed_out_again_after_a_cool_down(breakers, clock):
    # Given both probes taken by senders that died before reporting
    results(breakers, "twilio", True, True, True, True)
    clock.now += 30
    assert [breakers.gate("twilio") for _ in range(3)] == [Gate.PROBE, Gate.PROBE, Gate.OPEN]

    # When another cool-down passes, new probes are handed out
    clock.now += 29
    assert breakers.gate("twilio") is Gate.OPEN
    clock.now += 1
    assert breakers.gate("twilio") is Gate.PROBE


def test_a_failed_probe_opens_it_for_another_cool_down(breakers, clock):
    results(breakers, "twilio", True, True, True, True)
    clock.now += 30
    assert breakers.gate("twilio") is Gate.PROBE

    breakers.record("twilio", Gate.PROBE, True)

    assert breakers.gate("twilio") is Gate.OPEN
    clock.now += 30
    assert breakers.gate("twilio") is Gate.PROBE


def test_a_store_that_fails_never_stops_sending(clock):
    class Broken(FakeBreakerStore):
        def state(self, carrier):
            raise RuntimeError("throttled")

        def record(self, *args):
            raise RuntimeError("throttled")

    breakers = CircuitBreakers(Broken(), POLICY, clock=clock)

    breakers.record("twilio", Gate.CLOSED, True)
    assert breakers.gate("twilio") is Gate.CLOSED


def test_n_of_zero_turns_breakers_off(clock):
    store = FakeBreakerStore()
    breakers = CircuitBreakers(store, BreakerPolicy(submissions=0), clock=clock)

    results(breakers, "twilio", *[True] * 20)

    assert breakers.gate("twilio") is Gate.CLOSED and store.histories == {}


# --- the sender with breakers ------------------------------------------------------------


class World:
    def __init__(self, breakers: CircuitBreakers) -> None:
        self.claims = FakeClaimStore()
        self.twilio, self.vonage = FakeCarrier("twilio"), FakeCarrier("vonage")
        carriers = FakeCarriers(
            {"twilio": self.twilio, "vonage": self.vonage}, {"+61": ("twilio", "vonage")}
        )
        self.dispatcher = Dispatcher(
            claims=self.claims,
            tenants=FakeTenantStore(),
            queue=FakeSendQueue(),
            opt_outs=FakeLeaseStore(FakePool(), self.claims),
            carriers=carriers,
            limits=SendLimits(),
            clock=lambda: T0,
            breakers=breakers,
        )

    def send(self, to: str = "+61488023555", receive_count: int = 1):
        message = a_message(to=to)
        self.claims.create(message)
        body = json.dumps({"MessageSid": message.message_sid})
        try:
            outcome = self.dispatcher.handle(
                SendJob(f"sqs-{message.message_sid}", body, receive_count)
            )
        finally:
            self.dispatcher.end_batch()  # a batch of one
        return message.message_sid, outcome


def test_once_open_new_messages_go_straight_to_the_next_carrier(breakers):
    # Given twilio failing every submission, and a route +61 → twilio, vonage
    world = World(breakers)
    world.twilio.outcomes = [CarrierError("503", permanent=False)] * 10

    # When ten messages are sent
    sids = [world.send()[0] for _ in range(10)]

    # Then twilio was asked until most of its last N = 4 failed (3 of them), and no more
    assert len(world.twilio.submissions) == 3
    assert len(world.vonage.submissions) == 10
    assert all(world.claims.get(sid).status == SENT for sid in sids)
    skipped = world.claims.get(sids[-1])
    assert skipped.carrier == "vonage"
    assert [(e["Status"], e.get("Carrier")) for e in skipped.events][-2:] == [
        ("sending", "twilio"),
        ("sent", "vonage"),
    ]
    assert "not asked" in skipped.events[-2]["Detail"]


def test_unknown_outcomes_count_against_the_breaker_but_never_fail_over(breakers):
    world = World(breakers)
    world.twilio.outcomes = [OutcomeUnknownError("read timeout")] * 3

    outcomes = [world.send()[1].status for _ in range(4)]

    assert outcomes == ["sending"] * 3 + [SENT]
    assert len(world.twilio.submissions) == 3 and len(world.vonage.submissions) == 1


def test_the_last_carrier_of_a_route_is_tried_even_with_its_breaker_open(breakers):
    world = World(breakers)
    results(breakers, "twilio", True, True, True, True)
    world.twilio.outcomes = [CarrierError("503", permanent=False)]

    with pytest.raises(TransientError):
        world.send(to="+14155550100")  # no route: twilio alone

    assert len(world.twilio.submissions) == 1
