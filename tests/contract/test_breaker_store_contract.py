"""What the circuit breakers (smsgw.logic.breaker) rely on from their store: a history of
the last N results to which concurrent senders each add theirs, none lost, one opener per
outage, probes handed out at most as many as set and only after the cool-down, and a
close that forgets the outage's history."""

from __future__ import annotations

import pytest

from tests.fakes import FakeBreakerStore


@pytest.fixture(params=["fake", "moto"])
def stores(request):
    """Two senders' stores over the same breakers."""
    if request.param == "fake":
        one = FakeBreakerStore()
        return one, FakeBreakerStore(one.breakers, one.histories)
    from smsgw.dal.breaker_store import BreakerStore

    session = request.getfixturevalue("aws_session")
    deployed = request.getfixturevalue("stack")
    table = session.resource("dynamodb").Table(deployed.physical_ids["Table"])
    return BreakerStore(table), BreakerStore(table)


@pytest.fixture
def store(stores):
    return stores[0]


def test_a_history_keeps_the_last_n_results_per_carrier(store):
    assert store.record("twilio", "1", 5) == "1"
    assert store.record("twilio", "0011", 5) == "10011"
    assert store.record("vonage", "1", 5) == "1"
    assert store.record("twilio", "10", 5) == "01110"


def test_concurrent_senders_results_all_count(stores):
    # Given two senders, each writing after the other's write it has not seen
    one, other = stores
    one.record("twilio", "0", 10)
    other.record("twilio", "1", 10)

    # When each adds a batch
    one.record("twilio", "11", 10)
    after = other.record("twilio", "00", 10)

    # Then the history holds every result, in the order written
    assert after == "011100"


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


def test_a_reopened_breaker_waits_again_and_a_closed_one_forgets_its_history(store):
    store.open("twilio", 2000, 1)
    store.take_probe("twilio", 2000)
    store.reopen("twilio", 2030, 1)
    assert store.take_probe("twilio", 2010) is False
    assert store.state("twilio").probes_left == 1

    store.record("twilio", "11", 10)
    store.close("twilio")

    assert store.state("twilio") is None
    assert store.record("twilio", "1", 10) == "1"
