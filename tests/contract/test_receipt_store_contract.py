"""What receipt handling relies on from ReceiptStore: forward-only application, late
receipts recorded without moving the message, and the carrier-id match."""

from __future__ import annotations

from smsgw.models.carrier import Receipt
from smsgw.models.message import DELIVERED, FAILED, SENDING, SENT, UNDELIVERED
from tests.fakes.builders import T0, a_message, event


def receipt_event(carrier_sid="CA1", carrier_status="delivered"):
    return {
        "Timestamp": "2027-01-15T08:01:00.000Z",
        "Source": "receipt",
        "CarrierStatus": carrier_status,
        "CarrierSid": carrier_sid,
    }


def sent_message(stores, carrier_sid="CA1", **changes):
    message = a_message(
        status=SENT, carrier="twilio", carrier_sid=carrier_sid, date_sent="x", **changes
    )
    stores.messages.create(message)
    return message.message_sid


def apply(stores, sid, status, carrier_sid="CA1", attributes=None):
    return stores.receipts.apply(
        sid, "twilio", carrier_sid, status, receipt_event(carrier_sid, status), attributes or {}
    )


def test_a_receipt_moves_its_message_forward_with_its_event_and_attributes(stores):
    sid = sent_message(stores)

    applied = apply(stores, sid, DELIVERED, attributes={"DateFinal": "2027-01-15T08:01:00.000Z"})

    assert applied.changed is True
    assert applied.message.status == DELIVERED
    assert applied.message.date_final == "2027-01-15T08:01:00.000Z"
    last = applied.message.events[-1]
    assert (last["Status"], last["Source"], last["CarrierSid"]) == (DELIVERED, "receipt", "CA1")
    assert stores.messages.get(sid, consistent=True).status == DELIVERED


def test_a_late_or_duplicate_receipt_is_recorded_without_moving_the_message(stores):
    sid = sent_message(stores)
    apply(stores, sid, DELIVERED)

    late = apply(stores, sid, SENT)
    duplicate = apply(stores, sid, DELIVERED)
    contrary = apply(stores, sid, FAILED)

    for result in (late, duplicate, contrary):
        assert result.changed is False
        assert result.message.status == DELIVERED
    stored = stores.messages.get(sid, consistent=True)
    assert stored.status == DELIVERED
    assert [(e["Status"], e.get("Applied")) for e in stored.events[-3:]] == [
        (DELIVERED, False),
        (DELIVERED, False),
        (DELIVERED, False),
    ]
    assert [e["CarrierStatus"] for e in stored.events[-3:]] == [SENT, DELIVERED, FAILED]


def test_a_receipt_for_another_carrier_id_is_not_this_messages(stores):
    sid = sent_message(stores, carrier_sid="CA1")

    assert apply(stores, sid, DELIVERED, carrier_sid="CA2") is None
    assert apply(stores, "SM" + "0" * 32, DELIVERED) is None

    stored = stores.messages.get(sid, consistent=True)
    assert stored.status == SENT and len(stored.events) == 1


def test_a_receipt_for_a_further_part_matches_the_message(stores):
    sid = sent_message(stores, carrier_sid="CA1", carrier_part_sids=["CA2", "CA3"])

    applied = apply(stores, sid, UNDELIVERED, carrier_sid="CA3")

    assert applied.changed is True and applied.message.status == UNDELIVERED
    assert applied.message.carrier_sid == "CA1"


def test_a_receipt_before_the_sender_recorded_the_carrier_id_applies_and_records_it(stores):
    message = a_message()
    stores.messages.create(message)
    stores.messages.claim(message.message_sid, event(SENDING), T0, due_by=T0 + 1)

    applied = apply(stores, message.message_sid, DELIVERED, carrier_sid="CA7")

    assert applied.changed is True
    assert (applied.message.status, applied.message.carrier_sid) == (DELIVERED, "CA7")
    assert applied.message.carrier == "twilio"


def test_a_receipt_gives_a_message_without_a_date_sent_its_arrival_time_as_one(stores):
    # an unknown outcome (or a claim whose outcome was not yet recorded): the receipt is
    # the first proof that the carrier took the message
    message = a_message()
    stores.messages.create(message)
    stores.messages.claim(message.message_sid, event(SENDING), T0, due_by=T0 + 1)
    sid = sent_message(stores)  # its DateSent recorded by the sender ("x")

    first = apply(stores, message.message_sid, SENT, carrier_sid="CA7")
    later = apply(stores, message.message_sid, DELIVERED, carrier_sid="CA7")
    kept = apply(stores, sid, DELIVERED)

    assert first.message.date_sent == later.message.date_sent == "2027-01-15T08:01:00.000Z"
    assert kept.message.date_sent == "x"
    assert stores.messages.get(sid, consistent=True).date_sent == "x"


def test_the_carrier_id_lookup_finds_what_was_remembered(stores):
    stores.receipts.remember_carrier_sid("vonage", "V-1", "SM1")

    assert stores.receipts.message_sid_for("vonage", "V-1") == "SM1"
    assert stores.receipts.message_sid_for("twilio", "V-1") is None
    assert stores.receipts.message_sid_for("vonage", "V-2") is None


def test_an_unmatched_receipt_is_stored_aside(stores):
    receipt = Receipt("CA404", DELIVERED, message_sid=None, carrier_status="delivered")

    stores.receipts.store_unmatched("twilio", receipt, "delivered", "2027-01-15T08:01:00Z", T0)
