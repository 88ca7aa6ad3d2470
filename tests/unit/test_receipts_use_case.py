"""Carrier delivery receipts (smsgw.logic.receipts) on the in-memory fakes: verified,
applied forward-only, late ones recorded, unknown ones stored aside."""

from __future__ import annotations

import pytest

from smsgw.errors import ErrorCode, ForbiddenError, ValidationError
from smsgw.logic.receipts import (
    CARRIER_UNDELIVERED,
    ReceiptProcessor,
    ReceiptResult,
)
from smsgw.models.carrier import GATEWAY_SID_PARAM, IGNORED
from smsgw.models.message import DELIVERED, SENT, UNDELIVERED
from tests.fakes import FakeCarrier, FakeMessageStore, FakeReceiptStore, callback
from tests.fakes.builders import T0, a_message

AT = "2027-01-15T08:01:00.000Z"


@pytest.fixture
def messages() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def store(messages) -> FakeReceiptStore:
    return FakeReceiptStore(messages)


@pytest.fixture
def processor(store) -> ReceiptProcessor:
    return ReceiptProcessor(carrier=FakeCarrier("twilio"), store=store)


def sent(messages, carrier_sid="CA1") -> str:
    message = a_message(status=SENT, carrier="twilio", carrier_sid=carrier_sid)
    messages.create(message)
    return message.message_sid


def receipt(status, carrier_sid="CA1", sid=None, **more):
    query = {"CarrierSid": carrier_sid, "Status": status, **more}
    if sid:
        query[GATEWAY_SID_PARAM] = sid
    return callback(query)


def test_a_delivered_receipt_makes_the_message_final(processor, messages):
    sid = sent(messages)

    outcome = processor.handle(receipt(DELIVERED, sid=sid), AT, T0)

    assert (outcome.result, outcome.message_sid, outcome.status) == (
        ReceiptResult.APPLIED,
        sid,
        DELIVERED,
    )
    stored = messages.get(sid)
    assert (stored.status, stored.date_final) == (DELIVERED, AT)
    assert stored.events[-1] == {
        "Status": DELIVERED,
        "Timestamp": AT,
        "Source": "receipt",
        "CarrierStatus": DELIVERED,
        "CarrierSid": "CA1",
    }


def test_an_undelivered_receipt_records_the_products_and_the_carriers_error(processor, messages):
    sid = sent(messages)

    processor.handle(receipt(UNDELIVERED, sid=sid, ErrorCode="30005"), AT, T0)

    stored = messages.get(sid)
    assert (stored.status, stored.error_code) == (UNDELIVERED, CARRIER_UNDELIVERED)
    assert "30005" in stored.error_message
    assert stored.events[-1]["CarrierErrorCode"] == 30005


def test_late_and_duplicate_receipts_are_recorded_and_never_move_the_message_back(
    processor, messages
):
    sid = sent(messages)
    processor.handle(receipt(DELIVERED, sid=sid), AT, T0)

    late = processor.handle(receipt(SENT, sid=sid), AT, T0)
    again = processor.handle(receipt(DELIVERED, sid=sid), AT, T0)

    assert (late.result, late.status) == (ReceiptResult.RECORDED, DELIVERED)
    assert (again.result, again.status) == (ReceiptResult.RECORDED, DELIVERED)
    stored = messages.get(sid)
    assert stored.status == DELIVERED
    assert [(e["Status"], e.get("Applied")) for e in stored.events[-2:]] == [
        (DELIVERED, False),
        (DELIVERED, False),
    ]


def test_a_receipt_that_names_no_message_is_matched_by_the_carrier_id(processor, messages, store):
    sid = sent(messages, carrier_sid="V-1")
    store.remember_carrier_sid("twilio", "V-1", sid)

    outcome = processor.handle(receipt(DELIVERED, carrier_sid="V-1"), AT, T0)

    assert (outcome.result, outcome.message_sid) == (ReceiptResult.APPLIED, sid)


def test_a_receipt_naming_the_wrong_message_falls_back_to_the_carrier_id(
    processor, messages, store
):
    other, right = sent(messages, carrier_sid="CA-other"), sent(messages, carrier_sid="CA1")
    store.remember_carrier_sid("twilio", "CA1", right)

    outcome = processor.handle(receipt(DELIVERED, sid=other), AT, T0)

    assert outcome.message_sid == right
    assert messages.get(other).status == SENT


def test_a_receipt_for_no_known_message_is_stored_aside(processor, store):
    outcome = processor.handle(receipt(DELIVERED, carrier_sid="CA404"), AT, T0)

    assert outcome.result == ReceiptResult.UNMATCHED
    assert [(u["CarrierSid"], u["Status"]) for u in store.unmatched] == [("CA404", DELIVERED)]


def test_an_intermediate_carrier_status_is_ignored(processor, messages):
    sid = sent(messages)

    assert processor.handle(receipt(IGNORED, sid=sid), AT, T0).result == IGNORED
    assert len(messages.get(sid).events) == 1


def test_a_forged_receipt_changes_nothing(processor, messages, store):
    sid = sent(messages)
    forged = callback({"CarrierSid": "CA1", "Status": DELIVERED}, signed=False)

    with pytest.raises(ForbiddenError) as raised:
        processor.handle(forged, AT, T0)

    assert raised.value.code == ErrorCode.CALLBACK_SIGNATURE_INVALID
    assert messages.get(sid).status == SENT and store.unmatched == []


def test_a_signed_callback_that_is_no_receipt_is_invalid(processor):
    with pytest.raises(ValidationError) as raised:
        processor.handle(callback({"Text": "hello"}), AT, T0)

    assert raised.value.code == ErrorCode.RECEIPT_INVALID
