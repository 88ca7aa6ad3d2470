"""What customers read never carries our internals: faults driven through the real handlers
(the carrier simulator over HTTP, a webhook endpoint that is down, SES under moto) leave
only the catalogue's sentences (smsgw.explanations) in every field a customer can see or
that we keep for them; the raw exception goes to the logs."""

import json
import re
import socket

import pytest

from smsgw import explanations
from smsgw.dal.stream_records import job_for_record
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import sqs_records, twilio_receipt_event

LEAKS = {
    "an IP address": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"),
    "a host or port": re.compile(r"\bhost=|\bport=|localhost|:\d{2,5}\b"),
    "a file of the code or a path": re.compile(r"\.py\b|(?:^|[\s'\"(])/\w"),
    "an exception name": re.compile(
        r"\w+(?:Error|Exception|Timeout|Pool|Rejected)\b|Traceback|Errno|urllib3|requests\."
    ),
}
FREE_TEXT = ("Detail", "ErrorMessage", "Message")
SIMPLE = {"From": "+61499009990", "Text": "Mind the gap"}
TIMEOUT_TO, DOWN_TO, REFUSED_TO, REJECTED_TO = (f"+6148802355{n}" for n in range(1, 5))
RECIPIENT, LEASED = "+61488023555", "+61400000001"


def leaks(value, where="$"):
    """Every leak in the free-text fields of `value` (a resource, a payload, an item)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in FREE_TEXT and isinstance(item, str):
                found += [
                    f"{where}.{key}: {what} in {item!r}"
                    for what, pattern in LEAKS.items()
                    if pattern.search(item)
                ]
            else:
                found += leaks(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += leaks(item, f"{where}[{n}]")
    return found


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack(aws_session, monkeypatch):
    deployed = deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})
    environment = deployed.function_environment

    def short_carrier_timeout(function):  # the simulator's held request outlasts it
        return environment(function) | {"CARRIER_TIMEOUT_SECONDS": "0.5"}

    monkeypatch.setattr(deployed, "function_environment", short_carrier_timeout)
    return deployed


def table_items(aws_session, stack, prefix):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return [i for i in table.scan()["Items"] if i["PK"].startswith(prefix)]


def send_one(api, functions, aws_session, stack, to, **extra):
    """Send a message to `to` and hand its SendQueue record to the sender; the record."""
    sid = api.send({**SIMPLE, "To": to, **extra}).body["Message"]["MessageSid"]
    [record] = queued_records(aws_session, stack)
    return sid, record


def test_carrier_and_webhook_faults_leave_only_catalogue_sentences(
    api, tenant, functions, simulator, aws_session, stack, table_stream
):
    down = f"http://127.0.0.1:{closed_port()}/hooks"
    secrets = aws_session.client("secretsmanager")
    secret_name = stack.parameters["CarrierSecretName"]
    carrier_secret = secrets.get_secret_value(SecretId=secret_name)["SecretString"]

    # Given a carrier that holds the request past our read timeout
    timed_out, record = send_one(api, functions, aws_session, stack, TIMEOUT_TO)
    simulator.set_fault("timeout", timeout_seconds=2.0)
    functions.invoke("sender", {"Records": [record]})
    # a carrier answering 5xx on the last attempt, for a message whose receipt webhook is down
    unavailable, record = send_one(
        api, functions, aws_session, stack, DOWN_TO, DeliveryReceiptWebhookUri=down
    )
    simulator.set_fault("5xx")
    record["attributes"]["ApproximateReceiveCount"] = "5"
    functions.invoke("sender", {"Records": [record]})
    simulator.set_fault("none")
    # a carrier that refuses the connection (nothing listens): retried later
    refused, record = send_one(api, functions, aws_session, stack, REFUSED_TO)
    secrets.put_secret_value(
        SecretId=secret_name,
        SecretString=json.dumps(
            json.loads(carrier_secret) | {"BaseUrl": f"http://127.0.0.1:{closed_port()}"}
        ),
    )
    retried = functions.invoke("sender", {"Records": [record]})
    secrets.put_secret_value(SecretId=secret_name, SecretString=carrier_secret)
    # and a carrier that refuses the message itself, with its own code and message
    rejected, record = send_one(api, functions, aws_session, stack, REJECTED_TO)
    aws_session.resource("dynamodb").Table(stack.physical_ids["Table"]).update_item(
        Key={"PK": f"MESSAGE#{rejected}", "SK": "MESSAGE"},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "To"},
        ExpressionAttributeValues={":t": "not-a-number"},
    )
    functions.invoke("sender", {"Records": [record]})
    # When the failed message's receipt webhook is attempted (from the table's stream)
    stream = table_stream.records()
    [job] = [job for r in stream if (job := job_for_record(r))]
    functions.invoke("notifier", {"Records": stream})

    # Then each message reads as the catalogue says, by cause
    path = f"/v1/Properties/{tenant.property_sid}/Sms"
    read = {
        sid: api.call("GET", f"{path}/{sid}").body["Message"]
        for sid in (timed_out, unavailable, refused, rejected)
    }
    assert read[timed_out]["Events"][-1]["Detail"] == explanations.CARRIER_TIMED_OUT
    assert retried["batchItemFailures"]
    assert read[refused]["Events"][-1]["Detail"] == explanations.CARRIER_UNAVAILABLE_RETRYING
    assert (read[unavailable]["ErrorCode"], read[unavailable]["ErrorMessage"]) == (
        30002,
        explanations.CARRIER_UNAVAILABLE_FINAL,
    )
    # the carrier's own documented message and code are kept for its refusal
    assert (read[rejected]["ErrorCode"], read[rejected]["ErrorMessage"]) == (
        30001,
        "The 'To' number not-a-number is not a valid phone number.",
    )
    assert read[rejected]["Events"][-1]["CarrierErrorCode"] == "21211"
    # the receipt webhook's payload carries the same sentence
    assert job.payload["ErrorMessage"] == explanations.CARRIER_UNAVAILABLE_FINAL
    # and the attempt on the endpoint that is down is recorded as refused, not as the error
    [attempt] = table_items(aws_session, stack, f"CALLBACKS#{unavailable}")
    assert attempt["Detail"] == explanations.WEBHOOK_CONNECTION_REFUSED

    # And no customer-visible field, nor anything kept for them, leaks our internals
    listed = api.call("GET", path).body["Messages"]
    assert len(listed) == 4
    stored = [dict(item) for item in table_items(aws_session, stack, "CALLBACKS#")]
    assert leaks([read, listed, job.payload, stored]) == []


def test_reply_forward_faults_leave_only_catalogue_sentences(
    api, admin, tenant, functions, simulator, aws_session, stack, table_stream
):
    # Given a message from a lease whose replies go to an e-mail address SES refuses (the
    # sending domain is not verified) and to a webhook endpoint that is down
    admin.add_pool_number(LEASED, ["AU"])
    sent = api.send(
        {
            "To": RECIPIENT,
            "Text": "Reply YES",
            "ForwardToEmail": "desk@shop.example",
            "WebhookUri": f"http://127.0.0.1:{closed_port()}/replies",
        }
    )
    assert sent.status == 200, sent.body
    sid = sent.body["Message"]["MessageSid"]

    # When the recipient replies and the notifier runs the forwards
    form = {
        "MessageSid": "SMin0001",
        "AccountSid": "AC" + "simulator".ljust(32, "0"),
        "From": RECIPIENT,
        "To": LEASED,
        "Body": "YES",
    }
    url = "https://api.example.com/v1/Carriers/twilio/Responses"
    answer = functions.invoke("webhooks", twilio_receipt_event(url, form, simulator.auth_token))
    assert table_stream.deliver(functions) == {"batchItemFailures": []}  # queues the forwards
    jobs = sqs_records(
        aws_session.client("sqs"),
        stack.queue_url("CallbackQueue"),
        stack.queue_arn("CallbackQueue"),
    )
    functions.invoke("notifier", {"Records": jobs})

    # Then the e-mail forward is recorded as refused by the mail service, the reply webhook's
    # attempt as a refused connection
    [forward] = table_items(aws_session, stack, "FORWARD#")
    assert forward["Detail"] == explanations.FORWARD_EMAIL_REJECTED
    [attempt] = table_items(aws_session, stack, f"CALLBACKS#{sid}")
    assert attempt["Detail"] == explanations.WEBHOOK_CONNECTION_REFUSED
    # And neither they, the reply listed on the message, nor the answer to the carrier leak
    # our internals
    responses = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses")
    assert [r["Text"] for r in responses.body["Responses"]] == ["YES"]
    assert answer["statusCode"] == 200
    assert leaks([dict(forward), dict(attempt), responses.body, {"Message": answer["body"]}]) == []


def test_api_error_bodies_name_no_internals(api, tenant, monkeypatch):
    from smsgw.dal.send_queue import SendQueue

    path = f"/v1/Properties/{tenant.property_sid}/Sms"
    # A body that is not JSON: where the JSON breaks, in our words
    broken = api.call("POST", path, raw_body='{"To": ')
    assert (broken.status, broken.body["Error"]["Code"]) == (400, 20001)
    # a number the parser refuses: what to fix, not the parser's exception
    bad_number = api.send({**SIMPLE, "To": "+999123456789"})
    assert (bad_number.status, bad_number.body["Error"]["Message"]) == (
        400,
        "To is not a valid phone number for any country.",
    )

    # a fault of ours (the queue unreachable): a 500 that names no host
    def unreachable(*_):
        raise ConnectionError("HTTPSConnectionPool(host='10.0.0.1', port=443): refused")

    monkeypatch.setattr(SendQueue, "enqueue", unreachable)
    fault = api.send({**SIMPLE, "To": RECIPIENT})
    assert (fault.status, fault.body["Error"]["Code"]) == (500, 29001)
    assert leaks([broken.body, bad_number.body, fault.body]) == []
    assert "Expecting" not in broken.body["Error"]["Message"]  # the parser's own words
