"""Which tick releases a scheduled message, and with what delay (pure time arithmetic)."""

import pytest

from smsgw.kernel.scheduling import (
    bucket_of,
    last_releasable_bucket,
    release_delay,
    shard_of,
    waits_in_table,
)

NOW = 1_800_000_030  # half a minute into a bucket


@pytest.mark.parametrize(
    ("ahead", "waits"),
    [
        (10, False),
        (14 * 60, False),
        (900, False),
        (901, True),
        (3 * 86400, True),
        (14 * 86400, True),
    ],
)
def test_only_messages_due_beyond_the_sqs_delay_limit_wait_in_the_table(ahead, waits):
    assert waits_in_table(NOW + ahead, NOW) is waits


@pytest.mark.parametrize("ahead", [901, 959, 3 * 86400, 14 * 86400])
def test_the_first_tick_that_can_release_a_message_does_so_within_the_delay_limit(ahead):
    due = NOW + ahead
    # Ticks run every minute; find the first whose releasable range covers the due bucket.
    tick = NOW
    while last_releasable_bucket(tick) < bucket_of(due):
        tick += 60
    delay = release_delay(due, tick)
    assert tick + delay == due  # leaves SendQueue on time to the second
    assert 900 - 120 < delay <= 900  # within the delay limit, and not released needlessly early
    assert last_releasable_bucket(tick - 60) < bucket_of(due)  # and not a tick earlier


def test_an_overdue_message_is_released_with_no_delay():
    assert release_delay(NOW - 120, NOW) == 0


def test_shards_spread_one_minute_over_every_shard():
    shards = {shard_of(f"SM{n:032x}") for n in range(2000)}
    assert shards == set(range(16))
