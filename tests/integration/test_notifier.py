"""Customer receipt webhooks through the notifier handler, in-process under moto, to a real
HTTP sink on loopback (allowed by the template parameter WebhookAllowedNetworks)."""

import json
import socket
import time
from urllib.parse import parse_qsl

import pytest

from smsgw import explanations
from smsgw.logic.webhook_delivery import MAX_ATTEMPTS, RETRY_SCHEDULE
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, sqs_records, twilio_receipt_event
from tests.unit.test_webhook_signing import documented_verifier

BASE = "http://127.0.0.1:9"


@pytest.fixture
def stack(aws_session):
    return deploy_once(
        aws_session,
        parameters={"PublicBaseUrl": BASE, "WebhookAllowedNetworks": "127.0.0.0/8,::1/128"},
    )


def deliver_receipt(
    api, functions, aws_session, stack, simulator, uri, method="POST", final="delivered"
):
    """Send a message with a receipt webhook, submit it, and apply the carrier's receipt."""
    body = {
        "From": "+61499009990",
        "To": "+61488023555",
        "Text": "Hook me",
        "ExternalId": "order-9",
        "DeliveryReceiptWebhookUri": uri,
        "DeliveryReceiptWebhookMethod": method,
    }
    response = api.send(body)
    assert response.status == 200, response.body
    sid = response.body["Message"]["MessageSid"]
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    submission = simulator.submissions()[-1]
    event = twilio_receipt_event(
        submission["StatusCallback"], receipt_form(submission["sid"], final), simulator.auth_token
    )
    assert functions.invoke("webhooks", event)["statusCode"] == 200
    return sid


def callback_records(aws_session, stack):
    return sqs_records(
        aws_session.client("sqs"),
        stack.queue_url("CallbackQueue"),
        stack.queue_arn("CallbackQueue"),
    )


def attempts_of(aws_session, stack, sid):
    """The webhook attempts recorded for a message, oldest first."""
    from smsgw.dal.callback_store import CallbackLog

    return CallbackLog(
        aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    ).attempts(sid)


def test_post_callbacks_are_signed_with_the_property_secret(
    table_stream, api, functions, aws_session, stack, simulator, sink, admin, tenant
):
    sid = deliver_receipt(api, functions, aws_session, stack, simulator, f"{sink.url}/hooks")

    result = table_stream.deliver(functions)

    assert result == {"batchItemFailures": []}
    secret = admin.webhook_secret(tenant.property_sid)["WebhookSecret"]
    verify = documented_verifier()
    received = sink.requests()
    # One webhook per message: its delivery receipt (`sent` is not one).
    assert [json.loads(r["body"])["Status"] for r in received] == ["delivered"]
    (request,) = received
    assert request["method"] == "POST" and request["path"] == "/hooks"
    assert request["headers"]["content-type"] == "application/json"
    assert verify(secret, request["headers"], request["body"])
    final = json.loads(request["body"])
    assert (final["MessageSid"], final["ExternalId"], final["IsFinal"]) == (sid, "order-9", True)
    attempts = attempts_of(aws_session, stack, sid)
    assert [(a["Status"], a["Result"], a["HttpStatus"]) for a in attempts] == [
        ("delivered", "delivered", 200),
    ]


def test_get_callbacks_carry_the_fields_as_query_parameters(
    table_stream, api, functions, aws_session, stack, simulator, sink, admin, tenant
):
    sid = deliver_receipt(
        api, functions, aws_session, stack, simulator, f"{sink.url}/hooks?shop=1", method="GET"
    )

    table_stream.deliver(functions)

    secret = admin.webhook_secret(tenant.property_sid)["WebhookSecret"]
    final = sink.requests()[-1]
    fields = dict(parse_qsl(final["query"], keep_blank_values=True))
    assert final["method"] == "GET" and final["body"] == ""
    assert (fields["shop"], fields["MessageSid"], fields["Status"], fields["IsFinal"]) == (
        "1",
        sid,
        "delivered",
        "true",
    )
    assert documented_verifier()(secret, final["headers"], final["query"])


def test_rotated_secret_signs_beside_the_old_until_dropped(
    table_stream, api, functions, aws_session, stack, simulator, sink, admin, tenant
):
    old = admin.webhook_secret(tenant.property_sid)["WebhookSecret"]
    rotated = admin.rotate_webhook_secret(tenant.property_sid)
    new = rotated["WebhookSecret"]
    assert rotated["PreviousWebhookSecrets"][0]["Secret"] == old and new != old
    deliver_receipt(api, functions, aws_session, stack, simulator, f"{sink.url}/hooks")

    table_stream.deliver(functions)
    dropped = admin.drop_previous_webhook_secrets(tenant.property_sid)

    request = sink.requests()[-1]
    assert len(request["headers"]["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert documented_verifier()(secret, request["headers"], request["body"])
    assert (dropped["WebhookSecret"], dropped["PreviousWebhookSecrets"]) == (new, [])


def test_failing_endpoint_is_retried_on_schedule_then_dead_lettered(
    table_stream, api, functions, aws_session, stack, simulator, sink, monkeypatch
):
    # Given a customer endpoint that fails every time
    sink.answer_with(503, count=MAX_ATTEMPTS)
    sid = deliver_receipt(
        api, functions, aws_session, stack, simulator, f"{sink.url}/hooks", final="undelivered"
    )
    sqs = aws_session.client("sqs")
    queue = stack.queue_url("CallbackQueue")
    # (the test plays the clock: a queued retry's delay is recorded, and the job is
    # visible at once; each later wait is ended by making the job visible, once the test
    # has checked that it is hidden)
    from smsgw.dal.callback_store import CallbackQueue

    enqueue, delays = CallbackQueue.enqueue, []

    def record_delay(self, job, delay_seconds=0):
        delays.append(delay_seconds)
        enqueue(self, job)

    monkeypatch.setattr(CallbackQueue, "enqueue", record_delay)

    # When the stream's record makes the first attempt, which fails
    assert table_stream.deliver(functions) == {"batchItemFailures": []}

    # Then the retry is queued on CallbackQueue after the first delay, as attempt 2
    [delay] = delays
    assert RETRY_SCHEDULE[0] <= delay <= RETRY_SCHEDULE[0] * 1.2 + 1
    [record] = callback_records(aws_session, stack)
    assert json.loads(record["body"])["FirstAttempt"] == 2
    # and when SQS hands the job back after each delay
    for receive in range(1, MAX_ATTEMPTS):
        assert record["attributes"]["ApproximateReceiveCount"] == str(receive)
        result = functions.invoke("notifier", {"Records": [record]})
        assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        if receive < MAX_ATTEMPTS - 1:
            assert callback_records(aws_session, stack) == []  # hidden for the delay
            sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        [record] = callback_records(aws_session, stack)
    # the job given up (visible at once) is received once more, makes no attempt, and
    # the queue's redrive policy moves it to the dead-letter queue
    result = functions.invoke("notifier", {"Records": [record]})
    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert callback_records(aws_session, stack) == []
    dead = sqs_records(
        sqs, stack.queue_url("CallbackDeadLetterQueue"), stack.queue_arn("CallbackDeadLetterQueue")
    )
    assert [json.loads(r["body"])["Payload"]["Status"] for r in dead] == ["undelivered"]

    # And every attempt is recorded with its planned next attempt: 8 in all, one webhook-id
    attempts = attempts_of(aws_session, stack, sid)
    assert [a["Result"] for a in attempts] == ["retry"] * 7 + ["gave_up"]
    assert [a["Attempt"] for a in attempts] == list(range(1, MAX_ATTEMPTS + 1))
    for attempt, base in zip(attempts, RETRY_SCHEDULE, strict=False):
        waited = _seconds(attempt["NextAttemptAt"]) - _seconds(attempt["Timestamp"])
        assert base <= waited <= base * 1.2 + 1
    requests = sink.requests()
    assert len(requests) == MAX_ATTEMPTS
    assert len({r["headers"]["webhook-id"] for r in requests}) == 1


def test_a_stream_record_that_raised_is_reported_and_delivered_when_lambda_retries_it(
    table_stream, api, functions, aws_session, stack, simulator, sink, monkeypatch
):
    # Given a delivered receipt on the stream, and the attempt log failing once
    sid = deliver_receipt(api, functions, aws_session, stack, simulator, f"{sink.url}/hooks")
    [record] = table_stream.records()
    from smsgw.dal.callback_store import CallbackLog

    record_attempt, failures = CallbackLog.record_attempt, []

    def fail_once(self, message_sid, attempt):
        if not failures:
            failures.append(attempt)
            raise RuntimeError("DynamoDB unavailable")
        record_attempt(self, message_sid, attempt)

    monkeypatch.setattr(CallbackLog, "record_attempt", fail_once)

    # When the notifier processes it: the record is reported by its sequence number
    first = functions.invoke("notifier", {"Records": [record]})
    assert first == {
        "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
    }
    # and Lambda hands it over again
    again = functions.invoke("notifier", {"Records": [record]})

    # Then it is delivered and recorded; the repeat carries the same webhook-id and body
    assert again == {"batchItemFailures": []}
    assert [a["Result"] for a in attempts_of(aws_session, stack, sid)] == ["delivered"]
    first_call, second_call = sink.requests()
    assert first_call["headers"]["webhook-id"] == second_call["headers"]["webhook-id"]
    assert first_call["body"] == second_call["body"]
    assert callback_records(aws_session, stack) == []  # nothing was queued for a retry


def _seconds(iso):
    return time.mktime(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))


def test_410_gone_stops_retries(table_stream, api, functions, aws_session, stack, simulator, sink):
    sid = deliver_receipt(api, functions, aws_session, stack, simulator, f"{sink.url}/hooks")
    sink.answer_with(410, count=1)

    result = table_stream.deliver(functions)

    assert result == {"batchItemFailures": []}
    assert [a["Result"] for a in attempts_of(aws_session, stack, sid)] == ["gone"]


def test_host_name_is_pinned_to_the_checked_address_with_its_own_host_header(
    table_stream, api, functions, aws_session, stack, simulator, sink, monkeypatch
):
    # Given a host name that resolves to the (allowed) loopback sink
    real = socket.getaddrinfo
    port = int(sink.url.rsplit(":", 1)[1])

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == "hooks.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    deliver_receipt(
        api, functions, aws_session, stack, simulator, f"http://hooks.example.test:{port}/h"
    )

    table_stream.deliver(functions)

    assert {r["headers"]["host"] for r in sink.requests()} == {f"hooks.example.test:{port}"}


def test_host_name_resolving_to_a_refused_address_is_not_called(
    table_stream, api, functions, aws_session, stack, simulator, monkeypatch
):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("169.254.169.254" if host == "metadata.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    sid = deliver_receipt(
        api, functions, aws_session, stack, simulator, "http://metadata.example.test/h"
    )

    result = table_stream.deliver(functions)

    assert result == {"batchItemFailures": []}
    attempts = attempts_of(aws_session, stack, sid)
    assert [a["Result"] for a in attempts] == ["refused"]
    # (the address it resolved to goes to the logs, not to the record kept for the customer)
    assert attempts[0]["Detail"] == explanations.WEBHOOK_DESTINATION_REFUSED
