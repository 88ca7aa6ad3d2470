"""What the rate limits (smsgw.logic.rate_limits) and the admin CLI rely on from their
store: limits set, listed and removed; a turn booked at the time asked for when the limit
is idle and one interval after the last booked one when it is busy; no two bookings, by
any number of senders, given the same turn; and no turn for a limit that is not set."""

from __future__ import annotations

import pytest

from smsgw.dal.rate_store import RateLimit
from smsgw.errors import ErrorCode, NotFoundError
from smsgw.logic.rate_limits import reserve
from tests.fakes import FakeRateStore

T = 1_800_000_000_000  # Unix ms


@pytest.fixture(params=["fake", "moto"])
def stores(request):
    """Two senders' stores over the same limits."""
    if request.param == "fake":
        one = FakeRateStore()
        return one, FakeRateStore(one.limits, one.next_turns, one.booked)
    from smsgw.dal.rate_store import RateStore

    session = request.getfixturevalue("aws_session")
    deployed = request.getfixturevalue("stack")
    table = session.resource("dynamodb").Table(deployed.physical_ids["Table"])
    return RateStore(table), RateStore(table)


@pytest.fixture
def store(stores):
    return stores[0]


def test_limits_are_set_listed_changed_and_removed(store):
    store.put(RateLimit("twilio", None, 20), "2026-12-04T10:00:00Z")
    store.put(RateLimit("twilio", "+15550100", 1), "2026-12-04T10:00:00Z")
    store.put(RateLimit("twilio", None, 25), "2026-12-04T10:01:00Z")

    assert [(x.carrier, x.sender, x.rate) for x in store.list()] == [
        ("twilio", None, 25),
        ("twilio", "+15550100", 1),
    ]
    assert store.current() == {"twilio": 25, "twilio#+15550100": 1}

    removed = store.remove("twilio", "+15550100")
    assert (removed.sender, removed.rate) == ("+15550100", 1)
    assert store.current() == {"twilio": 25}
    with pytest.raises(NotFoundError) as missing:
        store.remove("twilio", "+15550100")
    assert missing.value.code == ErrorCode.RATE_LIMIT_NOT_FOUND


def test_turns_are_spaced_by_the_interval_and_an_idle_limit_starts_at_the_time_asked(store):
    store.put(RateLimit("twilio", None, 20), "2026-12-04T10:00:00Z")

    assert [reserve(store, "twilio", 50, T) for _ in range(3)] == [T, T + 50, T + 100]
    assert reserve(store, "twilio", 50, T + 120) == T + 150  # still busy: after the last
    assert reserve(store, "twilio", 50, T + 5000) == T + 5000  # idle since: now


def test_senders_booking_in_turn_never_share_a_turn(stores):
    # Given two senders, each of which booked last time when the limit was in another state
    one, other = stores
    one.put(RateLimit("vonage", None, 10), "2026-12-04T10:00:00Z")
    assert reserve(one, "vonage", 100, T) == T

    # When both book, one after the other, some after an idle spell
    turns = [
        reserve(one if n % 2 else other, "vonage", 100, T + (3000 if n == 4 else 0))
        for n in range(8)
    ]

    # Then every turn is its own, each one interval after the one before (or the idle start)
    assert turns == [T + 100, T + 200, T + 300, T + 400, T + 3000, T + 3100, T + 3200, T + 3300]


def test_a_limit_that_is_not_set_books_no_turn_and_a_changed_one_keeps_its_turns(store):
    assert reserve(store, "eum", 50, T) is None

    store.put(RateLimit("eum", None, 20), "2026-12-04T10:00:00Z")
    reserve(store, "eum", 50, T)
    store.put(RateLimit("eum", None, 10), "2026-12-04T10:01:00Z")
    assert reserve(store, "eum", 100, T) == T + 50

    store.remove("eum", None)
    assert reserve(store, "eum", 100, T) is None


def test_a_turn_too_far_joins_the_line_behind_the_others_without_taking_a_turn(stores):
    # Given a limit of 10 a second whose next turn is 300 ms away
    one, other = stores
    one.put(RateLimit("twilio", None, 10), "2026-12-04T10:00:00Z")
    assert one.turn("twilio", 100, T, T + 250) == (T, True)
    assert one.turn("twilio", 100, T, T + 250) == (T + 100, True)
    assert one.turn("twilio", 100, T, T + 250) == (T + 200, True)

    # When senders, in alternation, ask for a turn no later than 250 ms from now
    places = [(one if n % 2 else other).turn("twilio", 100, T, T + 250) for n in range(3)]

    # Then each joins the line, one interval behind the one before, and no turn is taken
    assert places == [(T + 300, False), (T + 400, False), (T + 500, False)]
    # and a turn taken since moves none of the places
    assert other.turn("twilio", 100, T + 100, T + 400) == (T + 300, True)
    assert one.turn("twilio", 100, T + 100, T + 200) == (T + 600, False)
    # a line left behind by an idle spell starts again at the next turn
    assert one.turn("twilio", 100, T + 5000, T + 5000) == (T + 5000, True)
    assert other.turn("twilio", 100, T + 5000, T + 5050) == (T + 5100, False)

    # And a limit removed books nothing
    one.remove("twilio", None)
    assert other.turn("twilio", 100, T, T + 250) is None
