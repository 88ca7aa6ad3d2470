"""Carrier delivery receipts through the webhooks handler, in-process under moto."""

import json

import pytest

from smsgw.carriers.twilio import STATUS_MAP
from smsgw.dal.callback_store import CallbackLog
from smsgw.dal.stream_records import job_for_record
from smsgw.errors import ErrorCode
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event
from tests.support import message_item

# Receipts the simulator sends by itself go to a closed port; the tests send their own.
BASE = "http://127.0.0.1:9"
RECEIPTS = f"{BASE}/v1/Carriers/twilio/Receipts"


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"PublicBaseUrl": BASE})


def send_and_submit(api, functions, aws_session, stack, simulator, **fields):
    body = {"From": "+61499009990", "To": "+61488023555", "Text": "Receipt me"} | fields
    response = api.send(body)
    assert response.status == 200, response.body
    sid = response.body["Message"]["MessageSid"]
    result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    assert result == {"batchItemFailures": []}
    submission = next(s for s in simulator.submissions() if s["Body"] == body["Text"])
    return sid, submission


def receipt(functions, simulator, url, form, **kwargs):
    event = twilio_receipt_event(url, form, simulator.auth_token, **kwargs)
    result = functions.invoke("webhooks", event)
    return result["statusCode"], json.loads(result["body"] or "{}")


def callback_jobs(table_stream):
    """The receipt webhooks the notifier makes for the stream's new records (it builds
    each job from a record, then delivers it; the delivery is test_notifier's)."""
    return [job for r in table_stream.records() if (job := job_for_record(r)) is not None]


def test_sender_asks_the_carrier_for_receipts_on_the_public_url(
    api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)

    assert submission["StatusCallback"] == f"{RECEIPTS}?smsgw_sid={sid}"


def test_delivered_receipt_moves_the_message_forward_and_calls_for_one_webhook(
    table_stream, api, functions, aws_session, stack, simulator
):
    # Given a sent message whose customer wants receipts
    sid, submission = send_and_submit(
        api,
        functions,
        aws_session,
        stack,
        simulator,
        DeliveryReceiptWebhookUri="https://hooks.example.com/receipts",
        ExternalId="order-7",
    )
    # When the carrier reports it delivered
    status, body = receipt(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "delivered"),
    )

    # Then it is delivered, the event is in its history, and its write on the table's
    # stream calls for one webhook: the delivery receipt (the sender's `sent` is not one)
    assert (status, body) == (200, {"Receipt": "applied"})
    item = message_item(aws_session, stack, sid)
    assert item["Status"] == "delivered"
    assert item["DateFinal"]
    assert [e["Status"] for e in item["Events"]] == ["queued", "sending", "sent", "delivered"]
    assert item["Events"][-1]["CarrierStatus"] == "delivered"
    jobs = callback_jobs(table_stream)
    assert [job.payload["Status"] for job in jobs] == ["delivered"]
    delivered = jobs[0].payload
    assert delivered["IsFinal"] is True
    assert set(delivered) == {
        "MessageSid",
        "AccountSid",
        "PropertySid",
        "ExternalId",
        "From",
        "To",
        "Status",
        "ErrorCode",
        "ErrorMessage",
        "Timestamp",
        "IsFinal",
    }
    assert (delivered["MessageSid"], delivered["ExternalId"]) == (sid, "order-7")
    # the payload's time is the receipt's, as the status change recorded it
    assert delivered["Timestamp"] == item["DateFinal"] == item["Events"][-1]["Timestamp"]
    assert jobs[0].uri == "https://hooks.example.com/receipts"


def test_late_and_duplicate_receipts_never_move_a_message_back_nor_call_again(
    table_stream, api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(
        api,
        functions,
        aws_session,
        stack,
        simulator,
        DeliveryReceiptWebhookUri="https://hooks.example.com/r",
    )
    url, carrier_sid = submission["StatusCallback"], submission["sid"]
    assert callback_jobs(table_stream) == []  # `sent` is no receipt: no webhook

    # When delivered arrives, then sent (out of order), then delivered again (duplicate)
    first = receipt(functions, simulator, url, receipt_form(carrier_sid, "delivered"))
    late = receipt(functions, simulator, url, receipt_form(carrier_sid, "sent"))
    again = receipt(functions, simulator, url, receipt_form(carrier_sid, "delivered"))
    failed = receipt(functions, simulator, url, receipt_form(carrier_sid, "failed"))

    # Then the message stays delivered; the late ones are recorded, not applied
    assert [r[1]["Receipt"] for r in (first, late, again, failed)] == [
        "applied",
        "recorded",
        "recorded",
        "recorded",
    ]
    item = message_item(aws_session, stack, sid)
    assert item["Status"] == "delivered"
    assert "ErrorCode" not in item
    events = item["Events"]
    assert [e["Status"] for e in events] == ["queued", "sending", "sent"] + ["delivered"] * 4
    assert [(e.get("CarrierStatus"), e.get("Applied", True)) for e in events[3:]] == [
        ("delivered", True),
        ("sent", False),
        ("delivered", False),
        ("failed", False),
    ]
    assert all(e["Timestamp"] for e in events)
    # And only the change calls for a webhook: the late receipts' writes pass the stream's
    # filter (the message is final, with a webhook URI), but their status did not change
    records = table_stream.records()
    assert [r["dynamodb"]["NewImage"]["Status"]["S"] for r in records] == ["delivered"] * 4
    jobs = [job_for_record(r) for r in records]
    assert [job.payload["Status"] if job else None for job in jobs] == ["delivered"] + [None] * 3


def test_undelivered_receipt_records_the_product_and_carrier_error(
    api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)

    status, _ = receipt(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "undelivered", error_code=30005),
    )

    item = message_item(aws_session, stack, sid)
    assert status == 200
    assert (item["Status"], item["ErrorCode"], item["CarrierErrorCode"]) == (
        "undelivered",
        30003,
        "30005",
    )
    assert "30005" in item["ErrorMessage"]


def test_forged_receipt_is_rejected_and_changes_nothing(
    api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)
    form = receipt_form(submission["sid"], "delivered")
    before = message_item(aws_session, stack, sid)

    unsigned = receipt(functions, simulator, submission["StatusCallback"], form, signed=False)
    forged = receipt(
        functions, simulator, submission["StatusCallback"], form, signature_value="Zm9yZ2Vk"
    )
    other_token = twilio_receipt_event(submission["StatusCallback"], form, "not-the-token")
    wrong_key = functions.invoke("webhooks", other_token)

    for status, body in (
        unsigned,
        forged,
        (wrong_key["statusCode"], json.loads(wrong_key["body"])),
    ):
        assert status == 403
        assert body["Error"]["Code"] == ErrorCode.CALLBACK_SIGNATURE_INVALID.number
    assert message_item(aws_session, stack, sid) == before


def test_signature_covers_the_url_so_another_message_sid_is_rejected(
    api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)
    form = receipt_form(submission["sid"], "delivered")
    event = twilio_receipt_event(submission["StatusCallback"], form, simulator.auth_token)
    event["rawQueryString"] = "smsgw_sid=SM" + "f" * 32

    result = functions.invoke("webhooks", event)

    assert result["statusCode"] == 403
    assert message_item(aws_session, stack, sid)["Status"] == "sent"


def lookup_items(aws_session, stack):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return [i for i in table.scan()["Items"] if i["PK"].startswith("CARRIERSID#")]


def test_receipts_that_name_our_sid_need_no_lookup_item(
    api, functions, aws_session, stack, simulator
):
    # Twilio's receipts come to the StatusCallback URL, which names our MessageSid
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)

    assert submission["StatusCallback"].endswith(f"smsgw_sid={sid}")
    assert lookup_items(aws_session, stack) == []  # one write per message saved
    status, body = receipt(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "delivered"),
    )
    assert (status, body) == (200, {"Receipt": "applied"})


def test_receipt_without_our_sid_is_matched_by_the_carrier_id(
    api, functions, aws_session, stack, simulator, monkeypatch
):
    # Given an adapter whose receipts do not name our MessageSid
    from smsgw.carriers.twilio import TwilioCarrier

    monkeypatch.setattr(TwilioCarrier, "receipts_name_message_sid", lambda self, sms: False)
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)
    assert [i["MessageSid"] for i in lookup_items(aws_session, stack)] == [sid]

    # When a receipt arrives on a URL without it
    status, body = receipt(
        functions, simulator, RECEIPTS, receipt_form(submission["sid"], "delivered")
    )

    # Then the carrier-id lookup item finds the message
    assert (status, body) == (200, {"Receipt": "applied"})
    assert message_item(aws_session, stack, sid)["Status"] == "delivered"


def test_receipt_for_an_unknown_message_is_stored_and_acknowledged(
    functions, aws_session, stack, simulator
):
    carrier_sid = "SM" + "a" * 32
    status, body = receipt(functions, simulator, RECEIPTS, receipt_form(carrier_sid, "delivered"))

    assert (status, body) == (200, {"Receipt": "unmatched"})
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    items = table.query(
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": f"RECEIPT#twilio#{carrier_sid}"},
    )["Items"]
    assert [(i["Status"], i["CarrierStatus"]) for i in items] == [("delivered", "delivered")]


def test_intermediate_carrier_statuses_are_acknowledged_and_ignored(
    api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)

    for raw in ("queued", "sending", "accepted", "something-new"):
        status, body = receipt(
            functions, simulator, submission["StatusCallback"], receipt_form(submission["sid"], raw)
        )
        assert (status, body) == (200, {"Receipt": "ignored"})
    assert message_item(aws_session, stack, sid)["Status"] == "sent"


def test_base64_encoded_form_body_is_decoded(api, functions, aws_session, stack, simulator):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)

    status, _ = receipt(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "delivered"),
        base64_body=True,
    )

    assert status == 200
    assert message_item(aws_session, stack, sid)["Status"] == "delivered"


def test_get_receipt_is_verified_over_its_query_string(
    api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)

    status, _ = receipt(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "delivered"),
        method="GET",
    )

    assert status == 200
    assert message_item(aws_session, stack, sid)["Status"] == "delivered"


def test_bad_payloads_are_clear_4xx_never_5xx(functions, simulator):
    # A signed callback that is not a receipt
    missing_status = {"MessageSid": "SM" + "b" * 32, "AccountSid": "AC1"}
    status, body = receipt(functions, simulator, RECEIPTS, missing_status)
    assert (status, body["Error"]["Code"]) == (400, ErrorCode.RECEIPT_INVALID.number)

    # A body flagged base64 that is not
    event = twilio_receipt_event(RECEIPTS, receipt_form("SM1", "sent"), simulator.auth_token)
    event["isBase64Encoded"] = True
    event["body"] = "%%% not base64"
    result = functions.invoke("webhooks", event)
    assert result["statusCode"] == 400

    # Another carrier
    other = twilio_receipt_event(
        f"{BASE}/v1/Carriers/acme/Receipts", receipt_form("SM1", "sent"), simulator.auth_token
    )
    result = functions.invoke("webhooks", other)
    body = json.loads(result["body"])
    assert (result["statusCode"], body["Error"]["Code"]) == (
        404,
        ErrorCode.CARRIER_NOT_FOUND.number,
    )


def test_no_callback_when_delivery_receipt_is_false(
    table_stream, api, functions, aws_session, stack, simulator
):
    sid, submission = send_and_submit(
        api,
        functions,
        aws_session,
        stack,
        simulator,
        DeliveryReceipt=False,
        DeliveryReceiptWebhookUri="https://hooks.example.com/r",
    )

    receipt(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "delivered"),
    )

    # The write passes the stream's filter (the item holds DeliveryReceipt only when it is
    # false, so the filter cannot ask for true); the notifier drops it: no attempt
    [record] = table_stream.records()
    assert job_for_record(record) is None
    assert functions.invoke("notifier", {"Records": [record]}) == {"batchItemFailures": []}
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    assert CallbackLog(table).attempts(sid) == []


def test_every_twilio_status_maps_to_a_product_status_or_is_ignored():
    assert {raw: STATUS_MAP[raw] for raw in STATUS_MAP} == {
        "sent": "sent",
        "delivered": "delivered",
        "read": "delivered",
        "undelivered": "undelivered",
        "failed": "failed",
        "canceled": "failed",
        "accepted": "ignored",
        "scheduled": "ignored",
        "queued": "ignored",
        "sending": "ignored",
        "receiving": "ignored",
        "received": "ignored",
    }


def test_a_receipt_whose_write_fails_is_a_500_for_the_carrier_to_retry(
    api, functions, aws_session, stack, simulator, monkeypatch
):
    from botocore.exceptions import ClientError

    from smsgw.dal.receipt_store import ReceiptStore

    # Given a sent message, and DynamoDB refusing the receipt's write once (throttled
    # beyond botocore's retries)
    sid, submission = send_and_submit(api, functions, aws_session, stack, simulator)
    apply = ReceiptStore.apply
    refused = []

    def throttled_once(store, *args, **kwargs):
        if not refused:
            refused.append(args)
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
            raise ClientError({"Error": error}, "UpdateItem")
        return apply(store, *args, **kwargs)

    monkeypatch.setattr(ReceiptStore, "apply", throttled_once)
    form = receipt_form(submission["sid"], "delivered")

    # When the carrier reports it delivered, and retries what got no 2xx
    first = receipt(functions, simulator, submission["StatusCallback"], form)
    retried = receipt(functions, simulator, submission["StatusCallback"], form)

    # Then the first answer is a 500 in the error format, naming nothing internal, and the
    # retry applies the receipt
    assert first == (
        500,
        {
            "Error": {
                "Code": ErrorCode.INTERNAL_ERROR.number,
                "Message": "Something went wrong on our side; retry.",
                "Parameter": None,
            }
        },
    )
    assert retried == (200, {"Receipt": "applied"})
    assert message_item(aws_session, stack, sid)["Status"] == "delivered"
