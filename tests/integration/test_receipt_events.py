"""events/carrier_receipt.json, events/dynamodb_final_status.json and
events/sqs_callback_job.json go through their handlers (as `sam local invoke -e`). The
receipt sample is signed with the simulator's AuthToken (`simulator-token`) for the URL in
the event, so it verifies as it is; the stream sample is the record its write makes."""

import json

import pytest

from smsgw.dal.message_store import MessageStore
from smsgw.dal.stream_records import job_for_record
from smsgw.models.callback import CallbackJob
from smsgw.models.message import Message
from smsgw_tools.local.sink import WebhookSink
from tests.moto_snapshots import deploy_once
from tests.support import event

SAMPLE_SID = "SM00000000000000000000000000000001"
SAMPLE_CARRIER_SID = "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})


def test_carrier_receipt_event_delivers_the_sample_message(
    table_stream, functions, tenant, simulator, aws_session, stack
):
    # Given the sample message, sent, as the sample receipt expects it
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    MessageStore(table).create(
        Message(
            message_sid=SAMPLE_SID,
            account_sid=tenant.account_sid,
            property_sid=tenant.property_sid,
            sender="+61499009990",
            sender_type="e164",
            to="+61488023555",
            text="You win again, gravity!",
            status="sent",
            segments=1,
            encoding="GSM-7",
            date_created="2026-11-27T02:10:20.639Z",
            external_id="order-1001",
            delivery_receipt_webhook_uri="https://hooks.example.com/smsgw/receipts",
            carrier="twilio",
            carrier_sid=SAMPLE_CARRIER_SID,
            date_sent="2026-11-27T02:10:20.900Z",
            events=[{"Status": "sent", "Timestamp": "2026-11-27T02:10:20.900Z"}],
        )
    )

    # When the sample receipt is invoked
    result = functions.invoke("webhooks", event("carrier_receipt"))

    # Then it is applied, and its write on the table's stream is the sample stream event's
    # record (the notifier's sample): the same status change, the same webhook
    assert (result["statusCode"], json.loads(result["body"])) == (200, {"Receipt": "applied"})
    item = table.get_item(Key={"PK": f"MESSAGE#{SAMPLE_SID}", "SK": "MESSAGE"})["Item"]
    assert item["Status"] == "delivered"
    [record] = table_stream.records()
    [sample] = event("dynamodb_final_status")["Records"]
    retargeted = json.loads(
        json.dumps(sample)
        .replace("AC00000000000000000000000000000001", tenant.account_sid)
        .replace("PR00000000000000000000000000000001", tenant.property_sid)
    )
    assert record["dynamodb"]["NewImage"] == retargeted["dynamodb"]["NewImage"]
    assert record["dynamodb"]["OldImage"] == retargeted["dynamodb"]["OldImage"]


def test_dynamodb_final_status_event_calls_the_webhook_of_the_sqs_callback_job_sample():
    # The stream sample calls for exactly the job of the CallbackQueue sample: the same
    # webhook-id and payload, to the byte
    [record] = event("dynamodb_final_status")["Records"]
    [queued] = event("sqs_callback_job")["Records"]

    job = job_for_record(record)

    assert job is not None and job.to_json() == queued["body"]
    assert job == CallbackJob.from_json(queued["body"])


def through_the_notifier(functions, tenant, sample: str) -> dict:
    """The sample event given to the notifier, its webhook aimed at a local sink and its
    property the tenant's; the one request the sink received."""
    with WebhookSink() as sink:
        text = json.dumps(event(sample))
        text = text.replace("https://hooks.example.com/smsgw/receipts", f"{sink.url}/receipts")
        text = text.replace("PR00000000000000000000000000000001", tenant.property_sid)

        result = functions.invoke("notifier", json.loads(text))

        assert result == {"batchItemFailures": []}
        [request] = sink.requests()
    return request


def test_dynamodb_final_status_event_goes_through_the_notifier(functions, tenant, stack):
    request = through_the_notifier(functions, tenant, "dynamodb_final_status")
    assert request["path"] == "/receipts"
    assert json.loads(request["body"])["Status"] == "delivered"
    assert (
        request["headers"]["webhook-id"]
        == json.loads(event("sqs_callback_job")["Records"][0]["body"])["WebhookId"]
    )


def test_sqs_callback_job_event_calls_the_webhook(functions, tenant, aws_session, stack):
    request = through_the_notifier(functions, tenant, "sqs_callback_job")
    assert request["path"] == "/receipts"
    assert json.loads(request["body"])["Status"] == "delivered"
    assert request["headers"]["webhook-signature"].startswith("v1,")
