"""What the retention pass relies on from RetentionStore: the properties with a period,
their messages in the order created between a cursor and a cutoff, and the cursor kept."""

from __future__ import annotations

from smsgw.models.message import iso_from_epoch
from tests.fakes.builders import T0, a_message

PROPERTY = "PR" + "1" * 32
OTHER = "PR" + "2" * 32


def test_only_properties_with_a_period_are_retaining(stores):
    stores.set_retention(PROPERTY, 30)
    stores.set_retention(OTHER, 7)
    stores.set_retention(OTHER, None)

    assert list(stores.retention.retaining()) == [(PROPERTY, 30, "")]


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

    assert list(stores.retention.retaining()) == [(PROPERTY, 30, "2027-01-15T08:00:00.000Z#SM1")]
