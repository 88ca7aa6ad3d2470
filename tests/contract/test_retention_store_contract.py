"""What the retention pass relies on from RetentionStore: the properties with a period,
their messages in the order created between a cursor and a cutoff, and the cursor kept."""

from __future__ import annotations

from smsgw.models.message import DELIVERED, FAILED, QUEUED, SENT, iso_from_epoch
from tests.fakes.builders import T0, a_message

PROPERTY = "PR" + "1" * 32
OTHER = "PR" + "2" * 32


def test_only_properties_with_a_period_are_retaining(stores):
    stores.set_retention(PROPERTY, 30)
    stores.set_retention(OTHER, 7)
    stores.set_retention(OTHER, None)

    assert list(stores.retention.retaining()) == [(PROPERTY, 30, "", False)]


def test_messages_come_oldest_first_between_the_cursor_and_the_cutoff(stores):
    created = [a_message(property_sid=PROPERTY, now=T0 + n) for n in (2, 0, 1, 3)]
    for message in created:
        stores.messages.create(message)
    stores.messages.create(a_message(property_sid=OTHER, now=T0 + 1))
    by_time = sorted(created, key=lambda m: m.date_created)

    first = stores.retention.created_between(PROPERTY, "", iso_from_epoch(T0 + 3), 2)
    rest = stores.retention.created_between(PROPERTY, first[-1][0], iso_from_epoch(T0 + 3), 2)

    assert [m.message_sid for _, m in first] == [m.message_sid for m in by_time[:2]]
    assert [m.message_sid for _, m in rest] == [by_time[2].message_sid]
    assert first[0][0] == f"{by_time[0].date_created}#{by_time[0].message_sid}"


def test_the_cursor_is_kept_on_the_property(stores):
    stores.set_retention(PROPERTY, 30)

    stores.retention.advance(PROPERTY, "2027-01-15T08:00:00.000Z#SM1")

    assert list(stores.retention.retaining()) == [
        (PROPERTY, 30, "2027-01-15T08:00:00.000Z#SM1", False)
    ]


def test_a_period_removed_forgets_the_cursor_and_one_set_again_starts_from_the_first(stores):
    stores.set_retention(PROPERTY, 30)
    stores.retention.advance(PROPERTY, "2027-01-15T08:00:00.000Z#SM1")

    stores.set_retention(PROPERTY, None)
    stores.set_retention(PROPERTY, 7)

    assert list(stores.retention.retaining()) == [(PROPERTY, 7, "", False)]


def test_a_property_says_whether_its_retention_deletes_messages(stores):
    stores.set_retention(PROPERTY, 30, delete_messages=True)
    stores.set_retention(OTHER, 7, delete_messages=True)
    stores.set_retention(OTHER, 7)

    assert list(stores.retention.retaining()) == [(PROPERTY, 30, "", True), (OTHER, 7, "", False)]


def test_a_settled_message_is_deleted_once_and_leaves_the_timeline(stores):
    settled = (SENT, DELIVERED, FAILED)
    gone = a_message(property_sid=PROPERTY, status=DELIVERED, now=T0)
    waiting = a_message(property_sid=PROPERTY, status=QUEUED, now=T0 + 1)
    for message in (gone, waiting):
        stores.messages.create(message)

    assert stores.retention.delete_message(gone, settled) is True
    assert stores.retention.delete_message(gone, settled) is False
    assert stores.retention.delete_message(waiting, settled) is False

    assert stores.messages.get(gone.message_sid) is None
    assert stores.messages.get(waiting.message_sid).status == QUEUED
    left = stores.retention.created_between(PROPERTY, "", iso_from_epoch(T0 + 2), 10)
    assert [m.message_sid for _, m in left] == [waiting.message_sid]
