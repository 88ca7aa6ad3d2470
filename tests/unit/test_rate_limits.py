"""Throughput limits (smsgw.logic.rate_limits) on the in-memory fakes: a carrier limited to
R messages a second gets its submissions 1/R apart, whatever the number of senders; a
turn close enough is waited for in the invocation, a later one in the queue, holding its
turn; a message is never lost or submitted twice while it waits; and the operator's
limits are checked before they are stored."""

from __future__ import annotations

import heapq
import itertools
import json
from collections import Counter

import pytest

from smsgw.carriers import CARRIER_NAMES
from smsgw.dal.rate_store import RateLimit
from smsgw.errors import ErrorCode, ValidationError
from smsgw.explanations import RATE_LIMIT_WAIT
from smsgw.logic.dispatch import Dispatcher
from smsgw.logic.rate_limits import (
    MAX_SLEEP_SECONDS,
    Pace,
    RateLimits,
    checked_limit,
)
from smsgw.logic.send_request_use_case import SendLimits
from smsgw.models.carrier import CarrierError
from smsgw.models.message import QUEUED, SENDING, SENT, SUBMIT_RETRYABLE
from smsgw.models.send_job import SendJob, Turn
from tests.fakes import (
    FakeCarrier,
    FakeCarriers,
    FakeClaimStore,
    FakeLeaseStore,
    FakePool,
    FakeRateStore,
    FakeSendQueue,
    FakeTenantStore,
)
from tests.fakes.builders import T0, a_message


class Clock:
    """The time, and the sleeps asked for: each sleep moves the time on."""

    def __init__(self) -> None:
        self.now = float(T0)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limited(*limits: RateLimit) -> FakeRateStore:
    store = FakeRateStore()
    for limit in limits:
        store.put(limit, "2026-12-04T10:00:00Z")
    return store


def limits_over(store: FakeRateStore, clock: Clock) -> RateLimits:
    return RateLimits(store, clock=clock, sleep=clock.sleep)


MS = int(T0 * 1000)


def test_a_carrier_without_a_limit_is_never_paced(clock):
    store = limited(RateLimit("vonage", None, 1))

    assert limits_over(store, clock).pace("twilio", "+61499009990") is None
    assert store.reservations == 0 and clock.slept == []


def test_a_burst_is_spaced_and_turns_beyond_a_short_sleep_wait_in_the_queue(clock):
    # Given twilio limited to 20 messages a second
    limits = limits_over(limited(RateLimit("twilio", None, 20)), clock)

    # When 60 submissions ask at the same instant (each in an invocation of its own)
    paces = []
    for _ in range(60):
        clock.now = T0
        paces.append(limits.pace("twilio", None))

    # Then the first 41 sleep until their turn, 50 ms apart, up to 2 s ...
    assert paces[:41] == [None] * 41
    assert clock.slept == pytest.approx([n * 0.05 for n in range(1, 41)])
    # ... and the others go back to the queue holding their turn, to come back before it
    assert paces[41] == Pace(1, Turn("twilio", MS + 2050))
    assert paces[-1] == Pace(1, Turn("twilio", MS + 2950))


def test_a_held_turn_is_used_without_booking_again_and_a_missed_one_is_booked_anew(clock):
    store = limited(RateLimit("twilio", None, 20))
    limits = limits_over(store, clock)
    held = Turn("twilio", MS + 10_000, firm=True)

    clock.now = T0 + 8.5
    assert limits.pace("twilio", None, held) is None
    assert clock.slept == [1.5] and store.reservations == 0

    clock.now = T0 + 11  # a second late: the turn went by unused
    assert limits.pace("twilio", None, held) is None
    assert store.reservations == 1


def test_a_far_turn_goes_round_the_queue_more_than_once_at_most_15_minutes_at_a_time(clock):
    limits = limits_over(limited(RateLimit("twilio", None, 1)), clock)
    held = Turn("twilio", MS + 2_000_000)

    assert limits.pace("twilio", None, held) == Pace(900, held)


def test_a_sender_numbers_limit_and_its_carriers_both_hold(clock):
    # Given one long code limited to 1 a second on a carrier limited to 20
    store = limited(RateLimit("twilio", None, 20), RateLimit("twilio", "+15550100", 1))
    limits = limits_over(store, clock)

    # When it sends four, each in an invocation of its own at the same instant
    ours = []
    for _ in range(4):
        clock.now = T0
        ours.append(limits.pace("twilio", "+15550100"))

    # Then they go a second apart (the fourth waits in the queue for its number's turn)
    assert ours[:3] == [None] * 3 and clock.slept == [1, 2]
    assert ours[3] == Pace(2, Turn("twilio", MS + 3000, sender_only=True))

    # And the carrier was booked only when each turn had come, never ahead for the fourth:
    # another number's message is not held up behind it
    assert store.next_turns["twilio"] == MS + 2050
    clock.now = T0 + 2.1
    assert limits.pace("twilio", "+15550111") is None
    assert clock.slept == [1, 2]


def test_a_number_whose_carrier_is_busy_past_its_turn_moves_its_turn_there(clock):
    # Given a carrier booked for the next 5 s, and a number with a limit of its own
    store = limited(RateLimit("twilio", None, 1), RateLimit("twilio", "+15550100", 1))
    store.next_turns["twilio"] = MS + 5000

    # When the number sends
    pace = limits_over(store, clock).pace("twilio", "+15550100")

    # Then it holds the carrier's turn, and the number's next turn is after it
    assert pace == Pace(4, Turn("twilio", MS + 5000, firm=True))
    assert store.next_turns["twilio#+15550100"] == MS + 6000


def test_a_failing_store_never_stops_sending(clock):
    class Broken(FakeRateStore):
        def reserve(self, *args):
            raise RuntimeError("throttled")

    store = Broken(limits={"twilio": RateLimit("twilio", None, 1)})

    assert limits_over(store, clock).pace("twilio", None) is None


@pytest.mark.parametrize(
    ("carrier", "rate", "sender", "field"),
    [
        ("sinch", "20", None, "Carrier"),
        ("twilio", "0", None, "Rate"),
        ("twilio", "fast", None, "Rate"),
        ("twilio", "1001", None, "Rate"),
        ("twilio", "nan", None, "Rate"),
        ("twilio", "1", "+1", "Sender"),
        ("twilio", "1", "not a sender", "Sender"),
    ],
)
def test_a_limit_that_cannot_be_held_is_refused_in_one_sentence(carrier, rate, sender, field):
    with pytest.raises(ValidationError) as refused:
        checked_limit(carrier, rate, sender, CARRIER_NAMES)

    assert refused.value.code == ErrorCode.RATE_LIMIT_INVALID
    assert refused.value.parameter == field


def test_a_limit_is_stored_normalised():
    assert checked_limit(" Twilio", "0.5", None, CARRIER_NAMES) == ("twilio", 0.5, None)
    assert checked_limit("eum", 3, "ACME", CARRIER_NAMES) == ("eum", 3.0, "ACME")


# --- the sender with limits -------------------------------------------------------------


class Sender:
    """The dispatcher with a rate-limited twilio, many invocations at once: each job
    visible at a time is handled at that time, its sleep delaying only itself."""

    def __init__(self, clock: Clock, *limits: RateLimit) -> None:
        self.clock = clock
        self.claims = FakeClaimStore()
        self.queue = FakeSendQueue()
        self.twilio = FakeCarrier("twilio")
        self.submitted_at: list[float] = []
        self.rates = limited(*limits)
        self.twilio.outcomes = [self._stamp] * 100_000
        self.dispatcher = Dispatcher(
            claims=self.claims,
            tenants=FakeTenantStore(),
            queue=self.queue,
            opt_outs=FakeLeaseStore(FakePool(), self.claims),
            carriers=FakeCarriers({"twilio": self.twilio}, {"+61": ("twilio",)}),
            limits=SendLimits(),
            clock=clock,
            rate_limits=limits_over(self.rates, clock),
        )

    def _stamp(self, sms):
        self.submitted_at.append(self.clock.now)

    def drain(self, sids: list[str], per_job: float = 0) -> int:
        """Handle the messages' jobs, and every job queued again, in time order (oldest
        visible first), each `per_job` seconds after the one before at the earliest. The
        jobs handled in all."""
        visible = [
            (self.clock.now, n, json.dumps({"MessageSid": sid})) for n, sid in enumerate(sids)
        ]
        heapq.heapify(visible)
        handled = 0
        free = self.clock.now
        while visible:
            at, n, body = heapq.heappop(visible)
            self.clock.now = max(at, free)
            free = self.clock.now + per_job
            queued = len(self.queue.jobs)
            self.dispatcher.handle(SendJob(f"sqs-{n}-{handled}", body, 1))
            handled += 1
            for job in self.queue.jobs[queued:]:
                heapq.heappush(visible, (self.clock.now + job.delay_seconds, n, job.body))
        return handled

    def accept(self, count: int) -> list[str]:
        messages = [a_message(text=f"burst {n}") for n in range(count)]
        for message in messages:
            self.claims.create(message)
        return [message.message_sid for message in messages]


def test_a_burst_of_300_drains_at_the_carriers_rate_each_sent_once(clock):
    # Given twilio limited to 20 messages a second, and 300 messages queued at once
    sender = Sender(clock, RateLimit("twilio", None, 20))
    sids = sender.accept(300)

    # When their jobs are handled, all at once, and each job queued again when it comes
    handled = sender.drain(sids)

    # Then every message was submitted once, 50 ms apart, the last after 300 / 20 s
    assert sorted(sender.twilio.submitted_sids()) == sorted(sids)
    assert all(sender.claims.get(sid).status == SENT for sid in sids)
    times = sorted(sender.submitted_at)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05 - 1e-6
    assert times[-1] - T0 == pytest.approx(299 * 0.05, abs=0.01)
    # each waited in the queue once at most, and slept at most 2 s
    assert handled <= 2 * len(sids)
    assert max(clock.slept) <= MAX_SLEEP_SECONDS


def test_turns_come_during_a_slow_first_pass_are_taken_and_none_is_lost(clock):
    # Given twilio limited to 20 messages a second, and 600 messages queued at once, whose
    # jobs are received 100 a second: the first pass through them takes 6 s, and a job
    # sent back to wait comes back only behind it
    sender = Sender(clock, RateLimit("twilio", None, 20))
    sids = sender.accept(600)

    # When their jobs are handled, and each job queued again when it comes
    sender.drain(sids, per_job=0.01)

    # Then every message was submitted once, 50 ms apart, the last about 600 / 20 s after
    # the burst: the turns that came during the first pass were taken, none lost
    assert sorted(sender.twilio.submitted_sids()) == sorted(sids)
    times = sorted(sender.submitted_at)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05 - 1e-6
    assert times[-1] - T0 <= 599 * 0.05 + 1
    # and no message went round the queue more than three times
    trips = Counter(json.loads(job.body)["MessageSid"] for job in sender.queue.jobs)
    assert max(trips.values()) <= 3
    assert max(clock.slept) <= MAX_SLEEP_SECONDS


def test_a_message_whose_turn_is_far_waits_unclaimed_and_a_duplicate_job_sends_nothing(clock):
    # Given a limit of 1 a second that is booked for the next 5 s
    sender = Sender(clock, RateLimit("twilio", None, 1))
    sender.rates.next_turns["twilio"] = MS + 5000
    [sid] = sender.accept(1)
    job = SendJob("sqs-1", json.dumps({"MessageSid": sid}), 1)

    # When its job is handled, and handled again (SQS delivered it twice)
    outcome = sender.dispatcher.handle(job)
    again = sender.dispatcher.handle(job)

    # Then it is not submitted, nor claimed (nothing written on it), and each job is
    # queued again holding a turn of its own
    assert (outcome.status, again.status) == (QUEUED, QUEUED)
    assert sid not in sender.twilio.submitted_sids()
    assert sender.claims.get_submit_state(sid)[1] is None
    assert len(sender.claims.get(sid).events) == 1
    turns = [SendJob("q", j.body, 1).turn() for j in sender.queue.jobs]
    assert turns == [Turn("twilio", MS + 5000), Turn("twilio", MS + 6000)]
    assert [j.delay_seconds for j in sender.queue.jobs] == [4, 5]

    # And when its jobs come back, it is submitted once, at its turn
    clock.now = T0 + 4
    for queued in list(sender.queue.jobs):
        sender.dispatcher.handle(SendJob("sqs-2", queued.body, 1))
    assert sender.submitted_at == [T0 + 5]
    assert sender.claims.get(sid).status == SENT


def test_a_wait_found_after_the_claim_gives_the_claim_back(clock):
    # Given +61 → twilio, vonage, twilio failing, and vonage's limit booked for 5 s
    sender = Sender(clock, RateLimit("vonage", None, 1))
    vonage = FakeCarrier("vonage")
    sender.dispatcher._carriers = FakeCarriers(
        {"twilio": sender.twilio, "vonage": vonage}, {"+61": ("twilio", "vonage")}
    )
    sender.twilio.outcomes = [CarrierError("503", permanent=False)]
    sender.rates.next_turns["vonage"] = MS + 5000
    [sid] = sender.accept(1)

    # When its job is handled
    outcome = sender.dispatcher.handle(SendJob("sqs-1", json.dumps({"MessageSid": sid}), 1))

    # Then twilio was asked, vonage not yet: the claim is given back with the reason and
    # the job queued again holding vonage's turn
    assert outcome.status == SENDING
    assert (len(sender.twilio.submissions), len(vonage.submissions)) == (1, 0)
    assert sender.claims.get_submit_state(sid)[1] == SUBMIT_RETRYABLE
    assert sender.claims.get(sid).events[-1]["Detail"] == RATE_LIMIT_WAIT
    [queued] = sender.queue.jobs
    assert SendJob("q", queued.body, 1).turn() == Turn("vonage", MS + 5000)

    # And back at its turn, the claim is taken again and twilio asked first again
    clock.now = T0 + 4.5
    sender.dispatcher.handle(SendJob("sqs-2", queued.body, 1))
    assert (len(sender.twilio.submissions), len(vonage.submissions)) == (2, 0)


def test_without_limits_the_sender_reads_nothing_more_before_the_claim(clock):
    # Given no limit set
    sender = Sender(clock)
    reads = []
    real_get = sender.claims.get
    sender.claims.get = lambda sid, **kw: reads.append(sid) or real_get(sid, **kw)
    [sid] = sender.accept(1)

    # When its job is handled
    sender.dispatcher.handle(SendJob("sqs-1", json.dumps({"MessageSid": sid}), 1))

    # Then it is sent with no read of the message before its claim
    assert sender.submitted_at == [T0] and reads == []
