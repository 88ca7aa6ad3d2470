"""What the circuit breakers (smsgw.logic.breaker) rely on from their store: counts that
add up under any order, one opener per outage, probes handed out at most as many as set
and only after the cool-down, and a close that forgets the outage's window."""

from __future__ import annotations

import pytest

from tests.fakes import FakeBreakerStore


@pytest.fixture(params=["fake", "moto"])
def store(request):
    if request.param == "fake":
        return FakeBreakerStore()
    from smsgw.dal.breaker_store import BreakerStore

    session = request.getfixturevalue("aws_session")
    deployed = request.getfixturevalue("stack")
    return BreakerStore(session.resource("dynamodb").Table(deployed.physical_ids["Table"]))


def test_a_windows_results_add_up_per_carrier(store):
    assert store.count("twilio", 7, 1, 1, 1000) == (1, 1)
    assert store.count("twilio", 7, 9, 0, 1000) == (10, 1)
    assert store.count("vonage", 7, 1, 1, 1000) == (1, 1)
    assert store.count("twilio", 8, 1, 1, 1000) == (1, 1)
    assert store.counts("twilio", 7) == (10, 1)
    assert store.counts("twilio", 6) == (0, 0)


def test_a_closed_breaker_has_no_state_and_opens_once(store):
    assert store.state("twilio") is None

    assert store.open("twilio", 2000, 3) is True
    assert store.open("twilio", 2500, 3) is False

    state = store.state("twilio")
    assert (state.open_until, state.probes_left) == (2000, 3)


def test_probes_are_handed_out_after_the_cool_down_and_no_more_than_set(store):
    store.open("twilio", 2000, 2)

    assert store.take_probe("twilio", 1999) is False
    assert [store.take_probe("twilio", 2000) for _ in range(3)] == [True, True, False]
    assert store.take_probe("vonage", 2000) is False


def test_a_reopened_breaker_waits_again_and_a_closed_one_forgets_its_window(store):
    store.open("twilio", 2000, 1)
    store.take_probe("twilio", 2000)
    store.reopen("twilio", 2030, 1)
    assert store.take_probe("twilio", 2010) is False
    assert store.state("twilio").probes_left == 1

    store.count("twilio", 32, 1, 1, 9999)
    store.count("twilio", 33, 1, 1, 9999)
    store.close("twilio", 33, 9999)

    assert store.state("twilio") is None
    assert store.counts("twilio", 32) == (0, 0)
    assert store.count("twilio", 33, 1, 1, 9999) == (1, 1)
