"""A message's ValidityPeriod through the real handlers under moto (docs/api.md): a message
the sender claims after its validity ran out is never submitted to the carrier (counted at
the simulator), ends `failed` with 30005, and its receipt webhook says so; retries after
carrier errors do not extend it; the raw SQS path takes it too."""

import json
import time

import pytest

from smsgw import explanations
from smsgw.errors import ErrorCode
from smsgw.ids import MESSAGE_PREFIX, derived_sid
from smsgw.logic.dispatch import VALIDITY_PERIOD_EXPIRED
from tests.integration.conftest import invoke_sender_at, queued_records
from tests.moto_snapshots import deploy_once
from tests.support import message_item

SIMPLE = {"From": "+61499009990", "To": "+61488023555", "Text": "Your code is 4321"}


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8,::1/128"})


def read(api, tenant, sid):
    return api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}").body["Message"]


def assert_expired(message):
    assert (message["Status"], message["ErrorCode"]) == ("failed", VALIDITY_PERIOD_EXPIRED)
    assert message["ErrorMessage"] == explanations.VALIDITY_PERIOD_EXPIRED
    assert message["DateSent"] is None and message["DateFinal"]
    last = message["Events"][-1]
    assert (last["Status"], last["ErrorCode"], last["Detail"]) == (
        "failed",
        VALIDITY_PERIOD_EXPIRED,
        explanations.VALIDITY_PERIOD_EXPIRED,
    )


def test_a_message_whose_validity_ran_out_in_the_queue_is_never_submitted_and_its_webhook_says_so(
    api, tenant, functions, simulator, aws_session, stack, table_stream, sink, monkeypatch
):
    # Given a one-time code valid for 60 s, with a receipt webhook
    body = {**SIMPLE, "ValidityPeriod": 60, "DeliveryReceiptWebhookUri": f"{sink.url}/receipts"}
    sid = api.send(body).body["Message"]["MessageSid"]
    accepted_at = int(message_item(aws_session, stack, sid)["DeliverAt"])
    records = queued_records(aws_session, stack)

    # When its job reaches the sender 60 s later (queued behind a throttled carrier)
    result = invoke_sender_at(functions, monkeypatch, accepted_at + 60, records)

    # Then the carrier never gets it, and the message is failed with 30005 and says why
    assert result == {"batchItemFailures": []}
    assert simulator.submissions() == []
    expired = read(api, tenant, sid)
    assert_expired(expired)
    assert [e["Status"] for e in expired["Events"]] == ["queued", "sending", "failed"]

    # And its receipt webhook reports it as for any final status
    assert table_stream.deliver(functions) == {"batchItemFailures": []}
    [request] = sink.requests()
    payload = json.loads(request["body"])
    assert (payload["MessageSid"], payload["Status"], payload["ErrorCode"]) == (
        sid,
        "failed",
        VALIDITY_PERIOD_EXPIRED,
    )
    assert payload["ErrorMessage"] == explanations.VALIDITY_PERIOD_EXPIRED

    # And a redelivery of its job does nothing more
    again = invoke_sender_at(functions, monkeypatch, accepted_at + 61, records)
    assert again == {"batchItemFailures": []}
    assert simulator.submissions() == []
    assert read(api, tenant, sid)["Events"] == expired["Events"]


def test_a_carrier_failing_until_the_validity_runs_out_ends_failed_with_the_validity_code(
    api, tenant, functions, simulator, aws_session, stack, monkeypatch
):
    # Given a message valid for 120 s and a carrier that answers 5xx to three requests
    sid = api.send({**SIMPLE, "ValidityPeriod": 120}).body["Message"]["MessageSid"]
    accepted_at = int(message_item(aws_session, stack, sid)["DeliverAt"])
    records = queued_records(aws_session, stack)
    simulator.set_fault("5xx", count=3)

    # When the sender tries at once and again after 60 s, refused both times
    for attempt, waited in ((1, 0), (2, 60)):
        records[0]["attributes"]["ApproximateReceiveCount"] = str(attempt)
        result = invoke_sender_at(functions, monkeypatch, accepted_at + waited, records)
        assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
        assert read(api, tenant, sid)["Status"] == "sending"
    assert simulator.state.fault()["remaining"] == 1  # two requests reached the carrier

    # And its third job comes after the 120 s counted from acceptance
    records[0]["attributes"]["ApproximateReceiveCount"] = "3"
    result = invoke_sender_at(functions, monkeypatch, accepted_at + 120, records)

    # Then it is not tried again: failed with the validity's code, not the carrier's 30002
    assert result == {"batchItemFailures": []}
    assert simulator.state.fault()["remaining"] == 1
    assert simulator.submissions() == []
    failed = read(api, tenant, sid)
    assert_expired(failed)
    # (each attempt: its claim and the refusal it will retry; the third: its claim only)
    assert [e["Status"] for e in failed["Events"]] == ["queued"] + ["sending"] * 5 + ["failed"]
    assert [e.get("Detail") for e in failed["Events"]].count(
        explanations.CARRIER_UNAVAILABLE_RETRYING
    ) == 2


def test_a_retry_never_waits_past_the_validity_deadline_and_the_webhook_comes_then(
    api, tenant, functions, simulator, aws_session, stack, table_stream, sink, monkeypatch
):
    import smsgw.send_batch as sender_module

    # Given a code valid for 30 s, with a receipt webhook, on its fourth attempt at a
    # carrier that answers 5xx (the backoff would be 64 to 80 s)
    body = {**SIMPLE, "ValidityPeriod": 30, "DeliveryReceiptWebhookUri": f"{sink.url}/receipts"}
    sid = api.send(body).body["Message"]["MessageSid"]
    accepted_at = int(message_item(aws_session, stack, sid)["DeliverAt"])
    records = queued_records(aws_session, stack)
    simulator.set_fault("5xx", count=1)
    records[0]["attributes"]["ApproximateReceiveCount"] = "4"
    back_offs = []
    monkeypatch.setattr(sender_module, "_back_off", lambda record, delay: back_offs.append(delay))

    # When the sender is refused 10 s after acceptance
    result = invoke_sender_at(functions, monkeypatch, accepted_at + 10, records)

    # Then its record is held back only for the 20 s left
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert back_offs == [20]
    assert table_stream.deliver(functions) is None  # nothing final yet: no webhook

    # And when it comes back then, it is failed with the validity's code, not tried again,
    # and its webhook is called at the deadline
    records[0]["attributes"]["ApproximateReceiveCount"] = "5"
    result = invoke_sender_at(functions, monkeypatch, accepted_at + 10 + back_offs[0], records)
    assert result == {"batchItemFailures": []}
    assert simulator.submissions() == [] and simulator.state.fault()["remaining"] == 0
    assert_expired(read(api, tenant, sid))
    assert table_stream.deliver(functions) == {"batchItemFailures": []}
    [request] = sink.requests()
    assert json.loads(request["body"])["ErrorCode"] == VALIDITY_PERIOD_EXPIRED


def job_record(sid, message_id="job-1"):
    """The SendQueue record of a message's job, as SQS delivers it once its delay passed."""
    return {
        "messageId": message_id,
        "receiptHandle": "h",
        "body": json.dumps({"MessageSid": sid}),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    }


def test_a_scheduled_message_counts_its_validity_from_its_schedule(
    api, tenant, functions, simulator, aws_session, stack, monkeypatch
):
    # Given a message scheduled 10 minutes ahead, valid for 30 s
    due = int(time.time()) + 600
    response = api.send({**SIMPLE, "Schedule": due, "ValidityPeriod": 30})
    sid = response.body["Message"]["MessageSid"]
    assert message_item(aws_session, stack, sid)["ValidUntil"] == due + 30

    # When the sender claims it 20 s after its Schedule (its job's delay over)
    result = invoke_sender_at(functions, monkeypatch, due + 20, [job_record(sid)])

    # Then it is sent, and the carrier is given the 10 s that remain
    assert result == {"batchItemFailures": []}
    [submission] = simulator.submissions()
    assert submission["ValidityPeriod"] == "10"
    assert read(api, tenant, sid)["Status"] == "sent"


def test_a_scheduled_message_claimed_after_its_schedule_and_validity_is_not_sent(
    api, tenant, functions, simulator, aws_session, stack, monkeypatch
):
    due = int(time.time()) + 600
    sid = api.send({**SIMPLE, "Schedule": due, "ValidityPeriod": 30}).body["Message"]
    sid = sid["MessageSid"]

    result = invoke_sender_at(functions, monkeypatch, due + 30, [job_record(sid)])

    assert result == {"batchItemFailures": []}
    assert simulator.submissions() == []
    expired = read(api, tenant, sid)
    assert_expired(expired)
    assert [e["Status"] for e in expired["Events"]] == ["scheduled", "sending", "failed"]


def test_a_raw_request_takes_a_validity_period_and_a_bad_one_is_rejected_and_not_sent(
    api, tenant, functions, simulator
):
    good = {**SIMPLE, "PropertySid": tenant.property_sid, "ValidityPeriod": 300}
    bad = {**good, "ValidityPeriod": 36_001}
    records = [
        {
            "messageId": message_id,
            "receiptHandle": "h",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
        }
        for message_id, body in (("raw-validity-1", good), ("raw-validity-2", bad))
    ]

    assert functions.invoke("sender", {"Records": records}) == {"batchItemFailures": []}

    sent = read(api, tenant, derived_sid(MESSAGE_PREFIX, "raw-validity-1"))
    assert (sent["Status"], sent["ValidityPeriod"]) == ("sent", 300)
    rejected = read(api, tenant, derived_sid(MESSAGE_PREFIX, "raw-validity-2"))
    assert (rejected["Status"], rejected["ErrorCode"]) == (
        "rejected",
        ErrorCode.VALIDITY_PERIOD_INVALID.number,
    )
    [submission] = simulator.submissions()
    assert 299 <= int(submission["ValidityPeriod"]) <= 300
