"""Redaction on request through the real API handler under moto:
POST /v1/Properties/{PropertySid}/Sms/{MessageSid}/Redact removes the text of a final
message, of the replies it routed and its response options, once; nothing else changes."""

import json
import time

import pytest

from smsgw.dal.stream_records import job_for_record
from smsgw.errors import ErrorCode
from tests.integration.conftest import Api, Tenant, queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event

# Receipts the simulator sends by itself go to a closed port; the tests send their own.
BASE = "http://127.0.0.1:9"
RESPONSES_URL = f"{BASE}/v1/Carriers/twilio/Responses"
RECIPIENT = "+61488023555"
LEASED = "+61400000001"
TEXT = "Your code is 482913"


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"PublicBaseUrl": BASE})


def path(tenant, sid, suffix=""):
    return f"/v1/Properties/{tenant.property_sid}/Sms/{sid}{suffix}"


def submit(functions, aws_session, stack, simulator):
    result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    assert result == {"batchItemFailures": []}
    return simulator.submissions()[-1]


def carrier_says(functions, simulator, url, form):
    result = functions.invoke("webhooks", twilio_receipt_event(url, form, simulator.auth_token))
    assert result["statusCode"] == 200, result


def reply(functions, simulator, text, sid):
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "simulator".ljust(32, "0"),
        "From": RECIPIENT,
        "To": LEASED,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    carrier_says(functions, simulator, RESPONSES_URL, form)


def items(aws_session, stack, prefix):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return [i for i in table.scan()["Items"] if i["PK"].startswith(prefix)]


@pytest.fixture
def delivered(api, admin, functions, aws_session, stack, simulator, tenant):
    """A message sent from a lease, with response options and a receipt webhook, delivered,
    and two replies to it."""
    admin.add_pool_number(LEASED, ["AU"])
    sent = api.send(
        {
            "To": RECIPIENT,
            "Text": TEXT,
            "ForwardToEmail": "desk@shop.example",
            "DeliveryReceiptWebhookUri": "https://hooks.example.com/receipts",
        }
    )
    assert sent.status == 200, sent.body
    sid = sent.body["Message"]["MessageSid"]
    submission = submit(functions, aws_session, stack, simulator)
    carrier_says(
        functions,
        simulator,
        submission["StatusCallback"],
        receipt_form(submission["sid"], "delivered", to=RECIPIENT, sender=LEASED),
    )
    reply(functions, simulator, "YES", "SMin0001")
    reply(functions, simulator, "My address is 1 Long St", "SMin0002")
    assert api.call("GET", path(tenant, sid)).body["Message"]["Status"] == "delivered"
    return sid


def test_redacting_a_delivered_message_removes_its_text_and_its_replies_text(
    api, tenant, delivered, aws_session, stack, table_stream
):
    table_stream.records()  # what came before the redaction
    # When the customer redacts the delivered message
    response = api.call("POST", path(tenant, delivered, "/Redact"))

    # Then it answers with the message: no text, Redacted, still delivered, the event recorded
    assert response.status == 200, response.body
    message = response.body["Message"]
    assert (message["Text"], message["Redacted"], message["Status"]) == (None, True, "delivered")
    assert [e["Status"] for e in message["Events"]] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "delivered",
    ]
    assert message["Events"][-1]["Source"] == "redaction"
    assert set(message["Events"][-1]) == {"Status", "Timestamp", "Source"}
    # and GET, the list and the Responses route show no text
    assert api.call("GET", path(tenant, delivered)).body["Message"] == message
    [listed] = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms").body["Messages"]
    assert listed == message
    responses = api.call("GET", path(tenant, delivered, "/Responses")).body["Responses"]
    assert [(r["Text"], r["Redacted"]) for r in responses] == [(None, True), (None, True)]
    # and the table keeps none: no text, no response options, no forwards
    [item] = items(aws_session, stack, f"MESSAGE#{delivered}")
    assert not {"Text", "ResponseOptions"} & set(item)
    replies = items(aws_session, stack, "LEASEREPLIES#")
    assert len(replies) == 2 and all(not {"Text", "Forwards"} & set(r) for r in replies)
    assert TEXT not in json.dumps(item, default=str)
    # and the redaction's writes do not invoke the notifier: the stream's filter leaves
    # them out (the status did not change)
    written = table_stream.records(unfiltered=True)
    assert {r["eventName"] for r in written} == {"MODIFY"} and len(written) == 3
    assert [r for r in written if table_stream.trigger.filters.matches(r)] == []
    assert [r for r in written if job_for_record(r)] == []


def test_a_second_redaction_answers_the_same(api, tenant, delivered):
    first = api.call("POST", path(tenant, delivered, "/Redact"))

    second = api.call("POST", path(tenant, delivered, "/Redact"))

    assert (first.status, second.status) == (200, 200)
    assert second.body == first.body


def test_a_cancelled_message_can_be_redacted_and_its_kept_answer_shows_no_text(
    api, tenant, aws_session, stack
):
    # Given a scheduled message sent with an Idempotency-Key, then cancelled
    body = {"To": RECIPIENT, "From": "Shop", "Text": TEXT, "Schedule": int(time.time()) + 3600}
    first = api.send(body, headers={"Idempotency-Key": "otp-1"})
    sid = first.body["Message"]["MessageSid"]
    assert api.call("DELETE", path(tenant, sid)).status == 200

    # When it is redacted
    response = api.call("POST", path(tenant, sid, "/Redact"))

    # Then it keeps its status and loses its text
    assert response.status == 200
    assert response.body["Message"]["Status"] == "cancelled"
    assert response.body["Message"]["Text"] is None
    # and the key's kept answer, replayed, shows the text as it is now: none (the record
    # never held it)
    replayed = api.send(body, headers={"Idempotency-Key": "otp-1"})
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert (replayed.body["Message"]["Text"], replayed.body["Message"]["Redacted"]) == (None, True)
    assert replayed.body["Message"]["Status"] == first.body["Message"]["Status"] == "scheduled"
    [record] = items(aws_session, stack, "IDEMPOTENCY#")
    assert TEXT not in json.dumps(record, default=str)


def test_a_message_not_yet_final_is_409_and_nothing_changes(
    api, tenant, functions, aws_session, stack, simulator
):
    sid = api.send({"To": RECIPIENT, "From": "+61499009990", "Text": TEXT})
    sid = sid.body["Message"]["MessageSid"]
    queued = api.call("GET", path(tenant, sid)).body

    refused_queued = api.call("POST", path(tenant, sid, "/Redact"))
    assert api.call("GET", path(tenant, sid)).body == queued
    submit(functions, aws_session, stack, simulator)
    sent = api.call("GET", path(tenant, sid)).body
    refused_sent = api.call("POST", path(tenant, sid, "/Redact"))

    for refused in (refused_queued, refused_sent):
        assert refused.status == 409
        assert refused.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_REDACTABLE.number
        assert refused.body["Error"]["Parameter"] == "MessageSid"
    assert sent["Message"]["Status"] == "sent"
    assert api.call("GET", path(tenant, sid)).body == sent
    assert sent["Message"]["Text"] == TEXT and sent["Message"]["Redacted"] is False


def test_another_account_cannot_redact(api, admin, functions, tenant, delivered):
    other = admin.create_account("Other")
    prop = admin.create_property(other["AccountSid"], "Theirs")
    theirs = Api(functions, Tenant(other["AccountSid"], other["AuthToken"], prop["PropertySid"]))

    stolen = theirs.call("POST", path(tenant, delivered, "/Redact"))
    mismatched = theirs.call("POST", f"/v1/Properties/{prop['PropertySid']}/Sms/{delivered}/Redact")

    assert (stolen.status, mismatched.status) == (404, 404)
    assert stolen.body["Error"]["Code"] == ErrorCode.PROPERTY_NOT_FOUND.number
    assert mismatched.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_FOUND.number
    message = api.call("GET", path(tenant, delivered)).body["Message"]
    assert (message["Text"], message["Redacted"]) == (TEXT, False)
    responses = api.call("GET", path(tenant, delivered, "/Responses")).body["Responses"]
    assert {r["Text"] for r in responses} == {"YES", "My address is 1 Long St"}


@pytest.mark.parametrize("sid", ["SM" + "0" * 32, "SMnot-a-sid", "nope"])
def test_a_bad_message_sid_is_the_same_error_as_get(api, tenant, sid):
    redacted = api.call("POST", path(tenant, sid, "/Redact"))
    got = api.call("GET", path(tenant, sid))

    assert (redacted.status, redacted.body) == (got.status, got.body) == (404, got.body)
    assert got.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_FOUND.number
