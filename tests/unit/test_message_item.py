"""The message's stored form: compact, and read back exactly."""

from __future__ import annotations

import json
from decimal import Decimal

from boto3.dynamodb.types import TypeSerializer

from smsgw.models.message import Message

EVENTS = [
    {"Status": "queued", "Timestamp": "2026-11-27T06:15:28.788Z"},
    {"Status": "sending", "Timestamp": "2026-11-27T06:15:28.900Z"},
    {"Status": "sent", "Timestamp": "2026-11-27T06:15:28.933Z", "CarrierSid": "SM" + "1" * 32},
    {
        "Status": "delivered",
        "Timestamp": "2026-11-27T06:15:29.000Z",
        "Source": "receipt",
        "CarrierStatus": "delivered",
        "CarrierSid": "SM" + "1" * 32,
        "CarrierErrorCode": "0",
    },
    {"Status": "delivered", "Timestamp": "2026-11-27T06:15:30.001Z", "Applied": False},
    {"Status": "rejected", "Timestamp": "2026-11-27T06:15:31.000Z", "ErrorCode": 21211},
    {"Status": "sending", "Timestamp": "not a time", "Detail": "outcome unknown"},
]


def message(**changes) -> Message:
    fields = {
        "message_sid": "SM" + "a" * 32,
        "account_sid": "AC" + "b" * 32,
        "property_sid": "PR" + "c" * 32,
        "sender": "+61499009990",
        "sender_type": "e164",
        "to": "+61488023555",
        "text": "Your parcel arrives today between 10:00 and 12:00.",
        "status": "delivered",
        "segments": 1,
        "encoding": "GSM-7",
        "date_created": "2026-11-27T06:15:28.788Z",
        "delivery_receipt_webhook_uri": "https://hooks.example.com/receipts",
        "events": EVENTS,
    }
    return Message(**{**fields, **changes})


def stored(msg: Message) -> dict:
    """The attributes as DynamoDB returns them (numbers as Decimal), with the item's key."""
    item = {"PK": f"MESSAGE#{msg.message_sid}", "SK": "MESSAGE", **msg.to_attributes()}
    return json.loads(json.dumps(item), parse_float=Decimal, parse_int=Decimal)


def size(attributes: dict) -> int:
    """Bytes by DynamoDB's sizing, near enough: names plus serialized values."""
    serializer = TypeSerializer()
    return sum(len(k) + len(json.dumps(serializer.serialize(v))) for k, v in attributes.items())


def test_a_message_reads_back_as_it_was_stored():
    for msg in (
        message(),
        message(delivery_receipt=False, delivery_receipt_webhook_method="GET", source="sqs"),
    ):
        assert Message.from_attributes(stored(msg)) == msg


def test_the_stored_form_leaves_out_the_key_defaults_and_long_event_names():
    attributes = message().to_attributes()

    assert not {"MessageSid", "DeliveryReceipt", "DeliveryReceiptWebhookMethod", "Source"} & set(
        attributes
    )
    assert attributes["Events"][0] == {"s": "queued", "t": 1795760128788}
    assert attributes["Events"][-1]["t"] == "not a time"  # kept as written when not ISO
    verbose = {**attributes, "Events": EVENTS}
    assert size(attributes) < size(verbose) - 7 * 20  # over 20 bytes an event


def test_events_stored_in_their_long_form_still_read():
    item = {**stored(message()), "Events": EVENTS, "MessageSid": "SM" + "a" * 32}

    assert Message.from_attributes(item).events == EVENTS


def test_texts_stored_before_the_sentences_read_as_their_causes_sentence():
    # Given a message stored with the sender's old texts, which carried exception text
    from smsgw import explanations

    old = message(
        status="failed",
        error_message="carrier unavailable: twilio unreachable: HTTPConnectionPool(host="
        "'127.0.0.1', port=45055): Max retries exceeded",
        events=[
            *EVENTS[:2],
            {
                "Status": "sending",
                "Timestamp": "2026-11-27T06:15:29.000Z",
                "Detail": "carrier outcome unknown: twilio outcome unknown: HTTPConnectionPool("
                "host='127.0.0.1', port=45055): Read timed out. (read timeout=10.0)",
            },
            {"Status": "queued", "Timestamp": "2026-11-27T06:15:30.000Z", "Detail": "reply RE1"},
        ],
    )

    # When it is read back
    read = Message.from_attributes(stored(old))

    # Then the customer reads each cause's sentence; other texts are as they were
    assert read.error_message == explanations.CARRIER_UNAVAILABLE_FINAL
    assert [e.get("Detail") for e in read.to_resource()["Events"]] == [
        None,
        None,
        explanations.CARRIER_OUTCOME_UNKNOWN,
        "reply RE1",
    ]
