"""POST /v1/Properties/{PropertySid}/Sms through the authorizer and the API handler."""

import json

import pytest

from smsgw.errors import ErrorCode
from smsgw.kernel.scheduling import bucket_of, recovery_time
from tests.integration.conftest import queued_records
from tests.support import message_item

SIMPLE = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}


def stored_items(aws_session, stack, kind):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return [i for i in table.scan()["Items"] if i.get("Type") == kind]


def test_seed_example_is_stored_queued_and_answered_with_the_message_resource(
    api, tenant, aws_session, stack
):
    response = api.send(SIMPLE)

    assert response.status == 200
    message = response.body["Message"]
    assert message["AccountSid"] == tenant.account_sid
    assert message["PropertySid"] == tenant.property_sid
    assert (message["From"], message["To"], message["Text"]) == (
        SIMPLE["From"],
        SIMPLE["To"],
        SIMPLE["Text"],
    )
    assert message["Status"] == "queued"
    assert (message["Segments"], message["Encoding"]) == (1, "GSM-7")
    assert message["MessageSid"].startswith("SM") and len(message["MessageSid"]) == 34
    assert message["DateCreated"].endswith("Z")
    assert message["Schedule"] is None and message["ExternalId"] is None
    records = queued_records(aws_session, stack)
    assert [json.loads(r["body"]) for r in records] == [{"MessageSid": message["MessageSid"]}]
    (stored,) = stored_items(aws_session, stack, "Message")
    # with its recovery entry: the scheduler queues it again if it is still unclaimed
    # a few minutes after it is due (docs/reliability.md)
    recover_at = recovery_time(int(stored["DeliverAt"]))
    assert stored["GSI3PK"].startswith(f"SCHEDULE#{bucket_of(recover_at)}#")


def test_schedule_a_few_minutes_ahead_is_scheduled_and_delayed_on_the_queue(
    api, aws_session, stack
):
    import time

    response = api.send({**SIMPLE, "Schedule": int(time.time()) + 120})

    assert response.body["Message"]["Status"] == "scheduled"
    assert queued_records(aws_session, stack) == []  # invisible until its delay passes


def test_schedule_less_than_an_hour_ago_is_sent_now(api):
    import time

    schedule = int(time.time()) - 3000
    message = api.send({**SIMPLE, "Schedule": schedule}).body["Message"]
    assert (message["Status"], message["Schedule"]) == ("queued", schedule)


@pytest.mark.parametrize(
    ("body", "code", "parameter"),
    [
        ({**SIMPLE, "To": "12345"}, ErrorCode.TO_INVALID, "To"),
        ({**SIMPLE, "From": "Way too long ID"}, ErrorCode.FROM_INVALID_ALPHANUMERIC, "From"),
        ({**SIMPLE, "Text": ""}, ErrorCode.TEXT_REQUIRED, "Text"),
        ({**SIMPLE, "Schedule": 1}, ErrorCode.SCHEDULE_IN_PAST, "Schedule"),
        ({**SIMPLE, "Shedule": 1}, ErrorCode.UNKNOWN_PARAMETER, "Shedule"),
        ({**SIMPLE, "DeliveryReceipt": "yes"}, ErrorCode.INVALID_TYPE, "DeliveryReceipt"),
        (
            {**SIMPLE, "WebhookUri": "https://a.example/"},
            ErrorCode.LEASE_OPTION_WITHOUT_LEASE,
            "WebhookUri",
        ),
        ({**SIMPLE, "From": ""}, ErrorCode.NO_LEASED_NUMBER_AVAILABLE, "From"),
        (
            {**SIMPLE, "From": "MyShop", "To": "+14155552671"},
            ErrorCode.NO_LEASED_NUMBER_AVAILABLE,
            "From",
        ),
        ([SIMPLE], ErrorCode.BODY_NOT_OBJECT, None),
        ({**SIMPLE, "ValidityPeriod": 0}, ErrorCode.VALIDITY_PERIOD_INVALID, "ValidityPeriod"),
        ({**SIMPLE, "ValidityPeriod": 36001}, ErrorCode.VALIDITY_PERIOD_INVALID, "ValidityPeriod"),
        ({**SIMPLE, "ValidityPeriod": "600"}, ErrorCode.VALIDITY_PERIOD_INVALID, "ValidityPeriod"),
        ({**SIMPLE, "ValidityPeriod": 60.5}, ErrorCode.VALIDITY_PERIOD_INVALID, "ValidityPeriod"),
        ({**SIMPLE, "SmartEncoding": "true"}, ErrorCode.SMART_ENCODING_INVALID, "SmartEncoding"),
        ({**SIMPLE, "SmartEncoding": 1}, ErrorCode.SMART_ENCODING_INVALID, "SmartEncoding"),
    ],
)
def test_invalid_requests_get_a_400_with_a_stable_code_and_nothing_is_stored(
    api, aws_session, stack, body, code, parameter
):
    response = api.send(body)

    assert response.status == 400
    assert response.body == {
        "Error": {
            "Code": code.number,
            "Message": response.body["Error"]["Message"],
            "Parameter": parameter,
        }
    }
    assert response.body["Error"]["Message"]
    assert stored_items(aws_session, stack, "Message") == []
    assert queued_records(aws_session, stack) == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw_body": "{not json"}, 400, ErrorCode.INVALID_JSON),
        ({"raw_body": '{"Text": NaN}'}, 400, ErrorCode.INVALID_JSON),
        ({"raw_body": json.dumps({**SIMPLE, "Text": "x" * 20000})}, 413, ErrorCode.BODY_TOO_LARGE),
        (
            {"body": SIMPLE, "headers": {"content-type": "text/plain"}},
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            {"body": SIMPLE, "headers": {"content-type": "application/x-www-form-urlencoded"}},
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ),
    ],
)
def test_malformed_bodies_are_a_clear_4xx(api, aws_session, stack, kwargs, status, code):
    response = api.send(kwargs.pop("body", None), **kwargs)

    assert response.status == status
    assert response.body["Error"]["Code"] == code.number
    assert stored_items(aws_session, stack, "Message") == []


def test_json_with_charset_is_accepted(api):
    response = api.send(SIMPLE, headers={"content-type": "application/json; charset=utf-8"})
    assert response.status == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic", "Bearer abc", "Basic !!!", "Basic " + "QUMxOg==", "tenant-wrong-token"],
)
def test_missing_or_wrong_credentials_are_401(api, tenant, aws_session, stack, authorization):
    from tests.support import basic_auth

    if authorization == "tenant-wrong-token":
        authorization = basic_auth(tenant.account_sid, tenant.auth_token + "x")
    response = api.send(SIMPLE, authorization=authorization)

    assert response.status == 401
    assert response.body["Error"]["Code"] == ErrorCode.UNAUTHENTICATED.number
    assert stored_items(aws_session, stack, "Message") == []


def test_another_accounts_property_is_not_found(api, admin, aws_session, stack):
    other = admin.create_account("Other")
    other_property = admin.create_property(other["AccountSid"], "Other shop")

    response = api.send(SIMPLE, property_sid=other_property["PropertySid"])

    assert response.status == 404
    assert response.body["Error"]["Code"] == ErrorCode.PROPERTY_NOT_FOUND.number
    assert stored_items(aws_session, stack, "Message") == []


def test_account_not_enabled_for_sms_is_403(api, admin, tenant, aws_session, stack):
    admin.set_account_sms(tenant.account_sid, False)

    response = api.send(SIMPLE)

    assert response.status == 403
    assert response.body["Error"]["Code"] == ErrorCode.ACCOUNT_SMS_DISABLED.number
    assert stored_items(aws_session, stack, "Message") == []


def test_property_not_enabled_for_sms_is_403(api, admin, tenant, aws_session, stack):
    admin.set_property_sms(tenant.property_sid, False)

    response = api.send(SIMPLE)

    assert response.status == 403
    assert response.body["Error"]["Code"] == ErrorCode.PROPERTY_SMS_DISABLED.number


def test_rotated_token_replaces_the_old_one(api, admin, tenant):
    from tests.support import basic_auth

    new = admin.rotate_token(tenant.account_sid)["AuthToken"]

    assert api.send(SIMPLE).status == 401
    assert api.send(SIMPLE, authorization=basic_auth(tenant.account_sid, new)).status == 200


def test_tokens_are_stored_only_as_salted_hashes(admin, tenant, aws_session, stack):
    items = stored_items(aws_session, stack, "Account")
    assert tenant.auth_token not in json.dumps(items, default=str)
    (entry,) = items[0]["TokenHashes"]
    assert set(entry) == {"Salt", "Hash", "Created"}


def test_same_idempotency_key_and_body_returns_the_first_response_and_queues_once(
    api, aws_session, stack
):
    first = api.send(SIMPLE, headers={"Idempotency-Key": "order-1001"})
    second = api.send(SIMPLE, headers={"Idempotency-Key": "order-1001"})

    assert first.status == second.status == 200
    assert second.body == first.body
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(queued_records(aws_session, stack)) == 1
    assert len(stored_items(aws_session, stack, "Message")) == 1


def test_same_idempotency_key_with_another_body_is_409(api, aws_session, stack):
    api.send(SIMPLE, headers={"Idempotency-Key": "order-1002"})

    response = api.send({**SIMPLE, "Text": "Changed"}, headers={"Idempotency-Key": "order-1002"})

    assert response.status == 409
    assert response.body["Error"]["Code"] == ErrorCode.IDEMPOTENCY_KEY_REUSED.number
    assert len(stored_items(aws_session, stack, "Message")) == 1


def test_idempotency_keys_are_scoped_to_the_property(api, admin, tenant, aws_session, stack):
    second_property = admin.create_property(tenant.account_sid, "Second")["PropertySid"]

    api.send(SIMPLE, headers={"Idempotency-Key": "k1"})
    other = api.send(SIMPLE, headers={"Idempotency-Key": "k1"}, property_sid=second_property)

    assert other.status == 200
    assert len(stored_items(aws_session, stack, "Message")) == 2


def test_a_rejected_request_does_not_burn_its_idempotency_key(api):
    bad = api.send({**SIMPLE, "To": "bad"}, headers={"Idempotency-Key": "k2"})
    good = api.send(SIMPLE, headers={"Idempotency-Key": "k2"})

    assert (bad.status, good.status) == (400, 200)


def test_invalid_idempotency_key_is_400(api):
    response = api.send(SIMPLE, headers={"Idempotency-Key": "x" * 256})
    assert response.body["Error"]["Code"] == ErrorCode.IDEMPOTENCY_KEY_INVALID.number


def test_an_idempotency_key_still_in_progress_is_409(api, tenant, aws_session, stack):
    import hashlib
    import time

    from smsgw.dal.idempotency import IdempotencyStore

    key_hash = hashlib.sha256(b"k3").hexdigest()
    scope = f"{tenant.account_sid}#{tenant.property_sid}#{key_hash}"
    canonical = json.dumps(SIMPLE, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    IdempotencyStore(table).claim(
        scope,
        hashlib.sha256(canonical.encode()).hexdigest(),
        "SM" + "1" * 32,
        now=int(time.time()),
        ttl=86400,
        lock=30,
    )

    response = api.send(SIMPLE, headers={"Idempotency-Key": "k3"})

    assert response.status == 409
    assert response.body["Error"]["Code"] == ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS.number


def test_an_unknown_route_is_404_in_the_error_format(functions, tenant):
    from tests.support import event

    request = event("api_get")
    request["rawPath"] = request["requestContext"]["http"]["path"] = "/v1/Nothing"
    request["requestContext"]["authorizer"]["lambda"]["AccountSid"] = tenant.account_sid

    result = functions.invoke("api", request)

    assert result["statusCode"] == 404
    assert json.loads(result["body"])["Error"]["Code"] == ErrorCode.ROUTE_NOT_FOUND.number


def test_a_fault_of_ours_is_a_500_in_the_error_format_and_nothing_is_queued(
    api, aws_session, stack
):
    aws_session.client("sqs").delete_queue(QueueUrl=stack.queue_url("SendQueue"))

    response = api.send(SIMPLE)

    assert response.status == 500
    assert response.body["Error"]["Code"] == ErrorCode.INTERNAL_ERROR.number
    (stored,) = stored_items(aws_session, stack, "Message")
    assert (stored["Status"], stored["ErrorCode"]) == ("failed", ErrorCode.INTERNAL_ERROR.number)
    assert "GSI3PK" not in stored  # answered 500: the scheduler must not send it after all


def test_dynamodb_out_of_capacity_is_a_503_with_retry_after_and_nothing_stored(
    api, aws_session, stack
):
    import boto3
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    from tests.support import reset_process_caches

    throttled = []

    def over_capacity(request, **_):
        # Every attempt at the message's PutItem is refused the way DynamoDB refuses it; the
        # attempt goes where moto serves nothing, so it changes nothing.
        if request.headers.get("X-Amz-Target", b"") != b"DynamoDB_20120810.PutItem":
            return None
        if b'"MESSAGE#' not in request.body:
            return None
        throttled.append(request.url)
        request.url = "https://throttled.invalid/"
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput was exceeded.",
            }
        )
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, MockRawResponse(body))

    events = boto3._get_default_session()._session.get_component("event_emitter")
    events.register_first("before-send.dynamodb", over_capacity)
    reset_process_caches()  # clients made from now on carry the hook
    try:
        response = api.send(SIMPLE)
    finally:
        events.unregister("before-send.dynamodb", over_capacity)
        reset_process_caches()

    assert response.status == 503
    assert response.body["Error"]["Code"] == ErrorCode.SERVICE_BUSY.number
    assert response.headers["Retry-After"] == "1"
    assert len(throttled) == 4  # an attempt and botocore's 3 retries (dal/aws.py), then ours
    assert stored_items(aws_session, stack, "Message") == []
    assert queued_records(aws_session, stack) == []


CURLY = (
    "Hi Sam, your order\u2019s ready \u2014 \u201cpick up\u201d at desk 4 before 6pm "
    "today\u2026 Reply HELP for help."
)


def test_smart_encoding_sends_curly_quotes_as_gsm7_in_one_segment_and_keeps_only_that_text(
    api, tenant, aws_session, stack
):
    # Given a text that one curly quote or dash makes UCS-2 in 2 segments
    plain = api.send({**SIMPLE, "Text": CURLY}).body["Message"]
    assert (plain["Text"], plain["Encoding"], plain["Segments"]) == (CURLY, "UCS-2", 2)

    # When it is sent with SmartEncoding
    response = api.send({**SIMPLE, "Text": CURLY, "SmartEncoding": True})

    # Then the response shows the text as it will be sent: GSM-7, 1 segment
    assert response.status == 200
    smart = response.body["Message"]
    sent_text = (
        'Hi Sam, your order\'s ready - "pick up" at desk 4 before 6pm today... Reply HELP for help.'
    )
    assert (smart["Text"], smart["Encoding"], smart["Segments"]) == (sent_text, "GSM-7", 1)
    # and only that text is stored, and read back
    read = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{smart['MessageSid']}")
    assert read.body["Message"]["Text"] == sent_text
    item = message_item(aws_session, stack, smart["MessageSid"])
    assert item["Text"] == sent_text and CURLY not in json.dumps(item, default=str)


def test_a_propertys_smart_encoding_default_applies_to_a_send_that_does_not_say(
    api, admin, tenant, aws_session, stack
):
    # Given a property whose SmartEncoding default the admin set on
    admin.set_property_smart_encoding(tenant.property_sid, True)

    # When a text with curly quotes is sent without the field, and with it false
    response = api.send({**SIMPLE, "Text": CURLY})
    typed = api.send({**SIMPLE, "Text": CURLY, "SmartEncoding": False}).body["Message"]

    # Then the first is sent as replaced, GSM-7 in 1 segment, and stored so
    assert response.status == 200
    smart = response.body["Message"]
    assert (smart["Encoding"], smart["Segments"]) == ("GSM-7", 1)
    assert "\u2019" not in smart["Text"] and "order's" in smart["Text"]
    assert message_item(aws_session, stack, smart["MessageSid"])["Text"] == smart["Text"]
    # and the request's own false wins: as typed, UCS-2 in 2
    assert (typed["Text"], typed["Encoding"], typed["Segments"]) == (CURLY, "UCS-2", 2)
    assert message_item(aws_session, stack, typed["MessageSid"])["Text"] == CURLY


def test_validity_period_is_stored_with_its_deadline_and_shown_on_the_message(
    api, tenant, aws_session, stack
):
    import time

    schedule = int(time.time()) + 3600
    sent = api.send({**SIMPLE, "ValidityPeriod": 600}).body["Message"]
    scheduled = api.send({**SIMPLE, "ValidityPeriod": 60, "Schedule": schedule}).body["Message"]
    plain = api.send(SIMPLE).body["Message"]

    assert (sent["ValidityPeriod"], scheduled["ValidityPeriod"], plain["ValidityPeriod"]) == (
        600,
        60,
        None,
    )
    read = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sent['MessageSid']}")
    assert read.body["Message"]["ValidityPeriod"] == 600
    # the deadline counts from acceptance, or from the Schedule
    item = message_item(aws_session, stack, sent["MessageSid"])
    assert item["ValidUntil"] == item["DeliverAt"] + 600
    assert message_item(aws_session, stack, scheduled["MessageSid"])["ValidUntil"] == schedule + 60
    assert "ValidUntil" not in message_item(aws_session, stack, plain["MessageSid"])
