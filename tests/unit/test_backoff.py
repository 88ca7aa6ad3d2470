"""The one retry policy (smsgw.kernel.backoff) as each call site configures it."""

from smsgw.kernel.backoff import Backoff
from smsgw.logic.carrier_answer import PERSIST_BACKOFF
from smsgw.logic.webhook_delivery import WEBHOOK_RETRY
from smsgw.send_batch import SEND_RETRY


def test_exponential_waits_double_up_to_the_cap():
    policy = Backoff(base=10, cap=900)
    assert [policy.delay(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 640, 900]


def test_a_schedule_repeats_its_last_wait():
    policy = Backoff(schedule=(5, 300, 1800))
    assert [policy.delay(n) for n in (1, 2, 3, 4, 10)] == [5, 300, 1800, 1800, 1800]


def test_jitter_shortens_or_lengthens_within_its_spread():
    shorter = Backoff(base=100, jitter=0.2)
    longer = Backoff(base=100, jitter=0.2, lengthen=True)
    assert shorter.delay(1, rand=lambda: 0.0) == 80
    assert 99 < shorter.delay(1, rand=lambda: 0.999999) <= 100
    assert longer.delay(1, rand=lambda: 0.0) == 100
    assert 119 < longer.delay(1, rand=lambda: 0.999999) <= 120


def test_the_other_sides_ask_is_rounded_up_and_capped():
    assert SEND_RETRY.delay(4, asked=2.5) == 3
    assert SEND_RETRY.delay(4, asked=5000) == 900
    assert SEND_RETRY.delay(4, asked=0) == 1


def test_the_call_sites_policies():
    assert [SEND_RETRY.delay(n, rand=lambda: 0.0) for n in (1, 2, 3, 8)] == [8, 16, 32, 720]
    assert [WEBHOOK_RETRY.delay(n, rand=lambda: 0.0) for n in range(1, 9)] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
        36000,
    ]
    assert WEBHOOK_RETRY.delay(7, rand=lambda: 0.999999) <= 43200
    assert [PERSIST_BACKOFF.delay(n) for n in (1, 2)] == [0.2, 0.4]
