"""The demo's status timeline says what each carrier receipt did, in plain words."""

from __future__ import annotations

from smsgw_tools.local.demo import receipt_note, timeline

SENT_BY_SENDER = {"Status": "sent", "Timestamp": "2026-12-04T08:55:40.696Z", "CarrierSid": "SMc"}


def _receipt(carrier_status: str, status: str, applied: bool = True) -> dict[str, object]:
    event = {
        "Timestamp": "2026-12-04T08:55:40.698Z",
        "Source": "receipt",
        "CarrierStatus": carrier_status,
        "CarrierSid": "SMc",
        "Status": status,
    }
    return event if applied else {**event, "Applied": False}


def test_twilios_routine_sent_receipt_after_the_senders_own_is_a_duplicate_not_late():
    # Given Twilio's `sent` receipt, recorded only because the sender had set `sent`
    duplicate = _receipt("sent", "sent", applied=False)

    # When the demo describes it
    note = receipt_note(duplicate)

    # Then it says the status was already reached, and not that the receipt was late
    assert note == "carrier receipt sent: already sent, recorded only"


def test_a_sent_receipt_after_delivery_is_late():
    assert receipt_note(_receipt("sent", "delivered", applied=False)) == (
        "carrier receipt sent, late: already delivered, recorded only"
    )


def test_a_receipt_that_moved_the_status_names_the_carriers_status():
    assert receipt_note(_receipt("delivered", "delivered")) == "carrier receipt delivered"


def test_the_timeline_aligns_statuses_and_notes_only_receipts():
    # Given a delivered message's Events
    message = {
        "Events": [
            {"Status": "queued", "Timestamp": "2026-12-04T08:55:40.507Z"},
            SENT_BY_SENDER,
            _receipt("sent", "sent", applied=False),
            _receipt("delivered", "delivered"),
        ]
    }

    # When the demo shows them
    lines = timeline(message)

    # Then one aligned line each, a note on the receipts only
    assert lines == [
        "2026-12-04T08:55:40.507Z  queued",
        "2026-12-04T08:55:40.696Z  sent",
        "2026-12-04T08:55:40.698Z  sent       carrier receipt sent: already sent, recorded only",
        "2026-12-04T08:55:40.698Z  delivered  carrier receipt delivered",
    ]
