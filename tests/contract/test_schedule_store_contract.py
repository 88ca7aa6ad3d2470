"""What the scheduler relies on from ScheduleStore: the waiting room and the cursor."""

from __future__ import annotations

import time

from smsgw.kernel.scheduling import bucket_of, recovery_time, shard_of
from smsgw.models.message import CANCELLED, QUEUED, SCHEDULED, SENDING
from tests.fakes.builders import T0, a_message, event

LATER = T0 + 3600


def waiting(stores, sid, deliver_at=LATER):
    return list(stores.schedule.waiting(bucket_of(deliver_at), shard_of(sid)))


def scheduled(stores, wait_in_table=True, deliver_at=LATER):
    message = a_message(status=SCHEDULED, deliver_at=deliver_at, schedule=deliver_at)
    stores.messages.create(message, wait_in_table=wait_in_table)
    return message.message_sid


def test_a_message_stored_to_wait_is_found_in_its_bucket_and_shard(stores):
    sid = scheduled(stores)
    other = scheduled(stores, wait_in_table=False)

    assert (sid, LATER) in waiting(stores, sid)
    assert [entry for entry in waiting(stores, other) if entry[0] == other] == []
    assert list(stores.schedule.waiting(bucket_of(LATER) + 1, shard_of(sid))) == []


def test_a_bucket_lists_its_messages_in_the_order_they_are_due(stores):
    sids = [scheduled(stores, deliver_at=LATER + offset) for offset in (30, 10, 20, 0)]
    found = [
        entry
        for shard in range(16)
        for entry in stores.schedule.waiting(bucket_of(LATER), shard)
        if entry[0] in sids
    ]

    by_shard: dict[int, list[int]] = {}
    for sid, at in found:
        by_shard.setdefault(shard_of(sid), []).append(at)
    assert sorted(at for _, at in found) == [LATER + o for o in (0, 10, 20, 30)]
    assert all(ats == sorted(ats) for ats in by_shard.values())


def test_a_claimed_or_cancelled_message_leaves_the_waiting_room(stores):
    claimed, cancelled = scheduled(stores), scheduled(stores)

    stores.messages.claim(claimed, event(SENDING), LATER, due_by=LATER + 1)
    stores.messages.transition(
        cancelled, CANCELLED, event(CANCELLED), remove_attributes=("GSI3PK", "GSI3SK")
    )

    assert waiting(stores, claimed) == []
    assert waiting(stores, cancelled) == []


def test_a_queued_messages_recovery_entry_waits_in_a_later_bucket_until_it_is_claimed(stores):
    # Given a message stored to be queued on SendQueue now, with its recovery entry
    message = a_message(status=QUEUED, deliver_at=T0)
    stores.messages.create(message)
    sid, later = message.message_sid, bucket_of(recovery_time(T0))

    # Then it is listed in the bucket of its recovery time, as due at its DeliverAt
    assert list(stores.schedule.waiting(bucket_of(T0), shard_of(sid))) == []
    assert (sid, T0) in list(stores.schedule.waiting(later, shard_of(sid)))
    # ... and the sender's claim takes it out
    stores.messages.claim(sid, event(SENDING), T0, due_by=T0 + 1)
    assert [e for e in stores.schedule.waiting(later, shard_of(sid)) if e[0] == sid] == []


def test_the_cursor_is_held_by_one_tick_at_a_time(stores):
    assert stores.schedule.acquire("tick-1", T0, 360, 41) == 41
    assert stores.schedule.acquire("tick-2", T0 + 10, 360, 0) is None
    assert stores.schedule.acquire("tick-2", T0 + 360, 360, 0) is None  # held until T0 + 360

    assert stores.schedule.advance("tick-1", 42) is True
    assert stores.schedule.advance("tick-2", 43) is False
    stores.schedule.release("tick-2")  # not its lease: nothing happens
    assert stores.schedule.acquire("tick-3", T0 + 20, 360, 0) is None

    stores.schedule.release("tick-1")
    assert stores.schedule.acquire("tick-2", T0 + 30, 360, 0) == 42


def test_a_new_cursor_keeps_its_first_bucket_when_its_first_tick_dies(stores):
    # Given a first tick that took the cursor and died before releasing a bucket
    assert stores.schedule.acquire("tick-1", T0, 60, 41) == 41
    # When the next tick, later and with a later start of its own, takes it over
    # Then it goes on from the first tick's start, not its own
    assert stores.schedule.acquire("tick-2", T0 + 61, 60, 45) == 41


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_advance(stores):
    stores.schedule.acquire("tick-1", T0, 60, 0)
    stores.schedule.advance("tick-1", 7)

    assert stores.schedule.acquire("tick-2", T0 + 61, 60, 0) == 7
    assert stores.schedule.advance("tick-1", 8) is False
    assert stores.schedule.advance("tick-2", 9) is True


def test_the_table_knows_when_it_was_created_and_the_answer_does_not_change(stores):
    # The scheduler's first tick starts 15 minutes after it (kernel/scheduling.first_cursor)
    created = stores.schedule.created_at()

    assert time.time() - 86_400 < created <= time.time()
    assert stores.schedule.created_at() == created
