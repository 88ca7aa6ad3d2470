"""The sender: SendQueue records to exactly one carrier submission each."""

import json
import time

from smsgw import explanations
from smsgw.dal.stream_records import job_for_record
from smsgw.errors import ErrorCode
from smsgw.ids import MESSAGE_PREFIX, derived_sid
from tests.integration.conftest import queued_records

SIMPLE = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}


def send_and_drain(api, functions, aws_session, stack, count=1):
    sids = [
        api.send({**SIMPLE, "Text": f"Message {n}"}).body["Message"]["MessageSid"]
        for n in range(count)
    ]
    records = queued_records(aws_session, stack)
    result = functions.invoke("sender", {"Records": records})
    return sids, records, result


def message(api, tenant, sid):
    return api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}").body["Message"]


def test_a_batch_is_submitted_once_each_and_recorded_sent_with_its_history(
    api, tenant, functions, simulator, aws_session, stack
):
    sids, _, result = send_and_drain(api, functions, aws_session, stack, count=3)

    assert result == {"batchItemFailures": []}
    assert sorted(s["Body"] for s in simulator.submissions()) == [
        "Message 0",
        "Message 1",
        "Message 2",
    ]
    for sid in sids:
        sent = message(api, tenant, sid)
        assert sent["Status"] == "sent"
        assert sent["DateSent"]
        assert [e["Status"] for e in sent["Events"]] == ["queued", "sending", "sent"]


def test_a_redelivered_record_is_not_submitted_again(api, functions, simulator, aws_session, stack):
    _, records, _ = send_and_drain(api, functions, aws_session, stack)

    again = functions.invoke("sender", {"Records": records})
    concurrently = functions.invoke("sender", {"Records": records + records})

    assert again == concurrently == {"batchItemFailures": []}
    assert len(simulator.submissions()) == 1


def test_a_carrier_5xx_fails_only_that_record_and_a_retry_sends_it_once(
    api, tenant, functions, simulator, aws_session, stack
):
    sids = [
        api.send({**SIMPLE, "To": to}).body["Message"]["MessageSid"]
        for to in ("+61488023555", "+61488023556")
    ]
    records = queued_records(aws_session, stack)
    simulator.set_fault("5xx", to="+61488023556")

    result = functions.invoke("sender", {"Records": records})

    failed = [r["messageId"] for r in records if json.loads(r["body"])["MessageSid"] == sids[1]]
    assert result == {"batchItemFailures": [{"itemIdentifier": failed[0]}]}
    assert message(api, tenant, sids[1])["Status"] == "sending"
    simulator.set_fault("none")
    retry = [r for r in records if r["messageId"] == failed[0]]
    assert functions.invoke("sender", {"Records": retry}) == {"batchItemFailures": []}
    assert sorted(s["To"] for s in simulator.submissions()) == ["+61488023555", "+61488023556"]
    assert message(api, tenant, sids[1])["Status"] == "sent"


def test_a_transient_error_on_the_last_attempt_fails_the_message(
    table_stream, api, tenant, functions, simulator, aws_session, stack
):
    uri = "https://hooks.example.com/receipts"
    sid = api.send(SIMPLE | {"DeliveryReceiptWebhookUri": uri}).body["Message"]["MessageSid"]
    records = queued_records(aws_session, stack)
    records[0]["attributes"]["ApproximateReceiveCount"] = "5"
    simulator.set_fault("429")

    result = functions.invoke("sender", {"Records": records})

    assert result == {"batchItemFailures": []}
    failed = message(api, tenant, sid)
    assert (failed["Status"], failed["ErrorCode"]) == ("failed", 30002)
    # and the failure's write on the table's stream calls for the receipt webhook (the
    # sender queues nothing itself), with the failure's error and time
    from smsgw.dal.stream_records import job_for_record

    [job] = [job for r in table_stream.records() if (job := job_for_record(r))]
    assert (job.uri, job.payload["Status"], job.payload["ErrorCode"]) == (uri, "failed", 30002)
    assert job.payload["ErrorMessage"] == failed["ErrorMessage"]
    assert job.payload["Timestamp"] == failed["DateFinal"]


def test_a_permanent_carrier_error_is_recorded_and_acknowledged(
    api, tenant, functions, simulator, aws_session, stack
):
    # The simulator refuses To numbers it cannot route, as Twilio does (code 21211).
    sid = api.send(SIMPLE).body["Message"]["MessageSid"]
    records = queued_records(aws_session, stack)
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    table.update_item(
        Key={"PK": f"MESSAGE#{sid}", "SK": "MESSAGE"},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "To"},
        ExpressionAttributeValues={":t": "not-a-number"},
    )

    result = functions.invoke("sender", {"Records": records})

    assert result == {"batchItemFailures": []}
    failed = message(api, tenant, sid)
    assert (failed["Status"], failed["ErrorCode"]) == ("failed", 30001)
    assert simulator.submissions() == []


def test_an_unknown_outcome_is_never_resent(api, tenant, functions, simulator, aws_session, stack):
    sid = api.send(SIMPLE).body["Message"]["MessageSid"]
    records = queued_records(aws_session, stack)
    simulator.set_fault("drop")

    first = functions.invoke("sender", {"Records": records})
    simulator.set_fault("none")
    second = functions.invoke("sender", {"Records": records})

    assert first == second == {"batchItemFailures": []}
    assert len(simulator.submissions()) == 1
    stuck = message(api, tenant, sid)
    assert stuck["Status"] == "sending"
    assert stuck["Events"][-1]["Detail"] == explanations.CARRIER_CONNECTION_LOST


def raw_record(body, message_id="5f8c4a52-0000-4000-8000-000000000001"):
    return {
        "messageId": message_id,
        "receiptHandle": "h",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    }


def test_a_raw_request_published_to_the_queue_is_validated_stored_and_sent_once(
    api, tenant, functions, simulator
):
    record = raw_record({**SIMPLE, "PropertySid": tenant.property_sid, "ExternalId": "raw-1"})

    assert functions.invoke("sender", {"Records": [record]}) == {"batchItemFailures": []}
    assert functions.invoke("sender", {"Records": [record]}) == {"batchItemFailures": []}

    sid = derived_sid(MESSAGE_PREFIX, record["messageId"])
    sent = message(api, tenant, sid)
    assert (sent["Status"], sent["ExternalId"]) == ("sent", "raw-1")
    assert len(simulator.submissions()) == 1


def test_an_invalid_raw_request_becomes_a_rejected_message_not_a_poison_message(
    api, tenant, functions, simulator
):
    record = raw_record({**SIMPLE, "To": "nope", "PropertySid": tenant.property_sid})

    assert functions.invoke("sender", {"Records": [record]}) == {"batchItemFailures": []}

    rejected = message(api, tenant, derived_sid(MESSAGE_PREFIX, record["messageId"]))
    assert rejected["Status"] == "rejected"
    assert rejected["ErrorCode"] == ErrorCode.TO_INVALID.number
    assert simulator.submissions() == []


def test_a_rejected_raw_request_without_from_is_read_listed_and_redelivered_without_error(
    api, tenant, functions, simulator
):
    body = {k: v for k, v in SIMPLE.items() if k != "From"}
    record = raw_record({**body, "To": "nope", "PropertySid": tenant.property_sid})

    # delivered twice, as SQS may: the second finds the stored rejection
    assert functions.invoke("sender", {"Records": [record]}) == {"batchItemFailures": []}
    assert functions.invoke("sender", {"Records": [record]}) == {"batchItemFailures": []}

    sid = derived_sid(MESSAGE_PREFIX, record["messageId"])
    rejected = message(api, tenant, sid)
    assert (rejected["Status"], rejected["From"]) == ("rejected", "")
    listed = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms")
    assert listed.status == 200
    assert [m["MessageSid"] for m in listed.body["Messages"]] == [sid]
    assert simulator.submissions() == []


def test_raw_requests_for_unknown_properties_or_garbage_are_rejected_and_acknowledged(
    functions, simulator, aws_session, stack
):
    records = [
        raw_record({**SIMPLE, "PropertySid": "PR0000"}, "m-1"),
        {**raw_record({}, "m-2"), "body": "not json at all"},
    ]

    assert functions.invoke("sender", {"Records": records}) == {"batchItemFailures": []}

    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    statuses = [i["Status"] for i in table.scan()["Items"] if i.get("Type") == "Message"]
    assert statuses == ["rejected", "rejected"]
    assert simulator.submissions() == []


def test_a_throttled_record_comes_back_after_the_carriers_retry_after_not_the_visibility_timeout(
    api, functions, simulator, aws_session, stack
):
    import time

    api.send(SIMPLE)
    records = queued_records(aws_session, stack)  # now invisible for the queue's 180 s
    simulator.set_fault("429", count=1)  # the simulator answers Retry-After: 1

    result = functions.invoke("sender", {"Records": records})
    time.sleep(1.5)
    again = queued_records(aws_session, stack)

    assert len(result["batchItemFailures"]) == 1
    assert [r["messageId"] for r in again] == [records[0]["messageId"]]
    assert functions.invoke("sender", {"Records": again}) == {"batchItemFailures": []}
    assert len(simulator.submissions()) == 1


def test_retry_delays_grow_with_jitter_and_honour_retry_after():
    from smsgw.send_batch import retry_delay

    assert retry_delay(1, 2.5) == 3
    assert retry_delay(3, 5000) == 900
    assert all(8 <= retry_delay(1, None) <= 10 for _ in range(50))
    assert all(32 <= retry_delay(3, None) <= 40 for _ in range(50))
    assert retry_delay(20, None) <= 900


def opt_out(aws_session, stack, account_sid, recipient):
    """The item a STOP reply stores (logic/replies.py)."""
    from smsgw.dal.lease_store import LeaseStore

    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    LeaseStore(table).opt_out(account_sid, recipient, "2027-01-15T08:00:00.000Z", "SMstop")


def assert_failed_opted_out(api, tenant, sid):
    failed = message(api, tenant, sid)
    assert (failed["Status"], failed["ErrorCode"]) == (
        "failed",
        ErrorCode.RECIPIENT_OPTED_OUT.number,
    )
    assert failed["ErrorMessage"] == explanations.RECIPIENT_OPTED_OUT_AT_SEND
    assert failed["DateSent"] is None
    return failed


def test_a_queued_message_whose_recipient_replied_stop_before_the_sender_ran_is_not_sent(
    api, tenant, functions, simulator, aws_session, stack, table_stream
):
    # Given a message accepted (queued, with a receipt webhook) before its recipient's STOP
    response = api.send({**SIMPLE, "DeliveryReceiptWebhookUri": "https://hooks.example.com/r"})
    sid = response.body["Message"]["MessageSid"]
    opt_out(aws_session, stack, tenant.account_sid, SIMPLE["To"])

    # When the sender runs its job
    result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

    # Then the carrier gets nothing, the message is failed with 22003 and says why, and
    # the customer's receipt webhook reports it as for any failure
    assert result == {"batchItemFailures": []}
    assert simulator.submissions() == []
    failed = assert_failed_opted_out(api, tenant, sid)
    assert [e["Status"] for e in failed["Events"]] == ["queued", "sending", "failed"]
    assert failed["Events"][-1]["Detail"] == explanations.RECIPIENT_OPTED_OUT_AT_SEND
    jobs = [job_for_record(r) for r in table_stream.records()]
    [job] = [job for job in jobs if job]
    assert (job.payload["Status"], job.payload["ErrorCode"]) == (
        "failed",
        ErrorCode.RECIPIENT_OPTED_OUT.number,
    )


def test_a_scheduled_message_whose_recipient_replied_stop_before_it_was_due_is_not_sent(
    api, tenant, functions, simulator, aws_session, stack
):
    due = int(time.time()) + 2
    sid = api.send({**SIMPLE, "Schedule": due}).body["Message"]["MessageSid"]
    opt_out(aws_session, stack, tenant.account_sid, SIMPLE["To"])

    time.sleep(max(0.0, due - time.time()) + 1.2)  # SQS delays are whole seconds
    records = queued_records(aws_session, stack)
    result = functions.invoke("sender", {"Records": records})

    assert len(records) == 1 and result == {"batchItemFailures": []}
    assert simulator.submissions() == []
    failed = assert_failed_opted_out(api, tenant, sid)
    assert [e["Status"] for e in failed["Events"]] == ["scheduled", "sending", "failed"]


def test_a_forwarded_reply_to_a_number_that_replied_stop_to_the_account_is_not_sent(
    api, tenant, functions, simulator, aws_session, stack
):
    # Given a reply forward (logic/replies.py stores it with Source "forward" and queues it)
    # to a ForwardToSms number that has opted out of the account
    from smsgw.dal.message_store import MessageStore
    from smsgw.dal.send_queue import SendQueue
    from tests.fakes.builders import a_message

    forward_to = "+61499333222"
    forward = a_message(
        account_sid=tenant.account_sid,
        property_sid=tenant.property_sid,
        sender="+61488023555",
        to=forward_to,
        text="YES please",
        source="forward",
        now=time.time(),
    )
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    assert MessageStore(table).create(forward)
    SendQueue(aws_session.client("sqs"), stack.queue_url("SendQueue")).enqueue(forward.message_sid)
    opt_out(aws_session, stack, tenant.account_sid, forward_to)

    # When the sender runs its job
    result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

    # Then the number that said STOP gets nothing
    assert result == {"batchItemFailures": []}
    assert simulator.submissions() == []
    assert_failed_opted_out(api, tenant, forward.message_sid)


def test_a_message_whose_receipt_arrives_before_the_senders_outcome_keeps_its_date_sent(
    api, tenant, functions, simulator, aws_session, stack, monkeypatch
):
    # Given a carrier whose `delivered` receipt is applied while the sender is still
    # waiting for its answer (the simulator's `sent` receipt goes out at once)
    from smsgw.carriers.twilio import TwilioCarrier
    from smsgw.dal.receipt_store import ReceiptStore

    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    submit = TwilioCarrier.submit

    def receipt_first(self, sms):
        result = submit(self, sms)
        receipt = {"Timestamp": "2027-01-15T08:00:01.000Z", "Source": "receipt"}
        final = {"DateFinal": "2027-01-15T08:00:01.000Z"}
        applied = ReceiptStore(table).apply(
            sms.message_sid, self.name, result.carrier_sid, "delivered", receipt, final
        )
        assert applied is not None and applied.changed
        return result

    monkeypatch.setattr(TwilioCarrier, "submit", receipt_first)
    due = int(time.time()) + 2  # never within the second the API reads its clock
    sid = api.send({**SIMPLE, "Schedule": due}).body["Message"]["MessageSid"]
    time.sleep(max(0.0, due - time.time()) + 1.2)  # SQS delays are whole seconds

    # When the sender submits it
    result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

    # Then it is delivered, with the time the carrier accepted it and the carrier's id
    assert result == {"batchItemFailures": []}
    [submission] = simulator.submissions()
    delivered = message(api, tenant, sid)
    assert delivered["Status"] == "delivered"
    assert delivered["DateSent"] is not None
    assert [e["Status"] for e in delivered["Events"]] == ["scheduled", "sending", "delivered"]
    item = table.get_item(Key={"PK": f"MESSAGE#{sid}", "SK": "MESSAGE"})["Item"]
    assert (item["CarrierSid"], item["SubmitState"]) == (submission["sid"], "done")
