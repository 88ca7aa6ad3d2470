"""The seed's request contract, rule by rule, at its boundaries."""

import pytest

from smsgw.errors import ErrorCode, ValidationError
from smsgw.models.send_request import (
    SENDER_ALPHANUMERIC,
    SENDER_E164,
    SENDER_LEASE,
    parse_send_request,
)

NOW = 1_800_000_000
BASE = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}


def parse(**changes):
    body = {**BASE, **changes}
    return parse_send_request({k: v for k, v in body.items() if v is not ...}, now=NOW)


def rejected(code: ErrorCode, parameter: str | None, **changes) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(**changes)
    assert caught.value.code is code
    assert caught.value.parameter == parameter


def test_seed_simple_example_is_accepted_with_defaults():
    request = parse()
    assert (request.sender, request.sender_type, request.to) == (
        "+61499009990",
        SENDER_E164,
        "+61488023555",
    )
    assert request.delivery_receipt is True
    assert request.delivery_receipt_webhook_method == "POST"
    assert request.schedule is None and request.deliver_at == NOW
    assert (request.text_info.encoding, request.text_info.segments) == ("GSM-7", 1)


def test_seed_lease_example_with_every_parameter_is_accepted():
    request = parse(
        From="",
        Schedule=NOW + 60,
        DeliveryReceipt=True,
        DeliveryReceiptWebhookUri="https://callback.2.me/for/delivery_receipt",
        DeliveryReceiptWebhookMethod="POST",
        ForwardToSms="+61499333222",
        ForwardFromSms="",
        ForwardToEmail="someone@example.com",
        ForwardFromEmail="noreply@example.com",
        WebhookUri="https://callback.2.me/for/sms_responses",
        WebhookMethod="POST",
        ExternalId="testid123",
    )
    assert request.sender_type == SENDER_LEASE and request.sender is None
    assert request.response_options.forward_to_sms == "+61499333222"
    assert request.response_options.forward_from_sms is None
    assert request.deliver_at == NOW + 60


@pytest.mark.parametrize("sender", ["A", "ABCDEFGHIJK", "My Shop 24", "a1", "Z"])
def test_alphanumeric_sender_ids_of_1_to_11_characters_with_a_letter_are_accepted(sender):
    request = parse(From=sender)
    assert (request.sender, request.sender_type) == (sender, SENDER_ALPHANUMERIC)


@pytest.mark.parametrize(
    "sender",
    ["ABCDEFGHIJKL", "12345", "1 2 3", "Shop-24", "Café", "Shop_1", "x\n"],
    ids=[
        "12 chars",
        "digits only",
        "digits and spaces",
        "hyphen",
        "accent",
        "underscore",
        "newline",
    ],
)
def test_alphanumeric_sender_ids_breaking_the_rules_are_rejected(sender):
    rejected(ErrorCode.FROM_INVALID_ALPHANUMERIC, "From", From=sender)


@pytest.mark.parametrize("sender", [None, "", "   ", ...])
def test_blank_null_or_absent_from_means_a_leased_sender(sender):
    assert parse(From=sender).sender_type == SENDER_LEASE


@pytest.mark.parametrize("sender", ["+6199111222", "+0061499009990", "+61 499 009 990", "+"])
def test_from_starting_with_plus_must_be_a_valid_e164_number(sender):
    rejected(ErrorCode.FROM_INVALID_E164, "From", From=sender)


@pytest.mark.parametrize("to", ["61488023555", "+6199111222", "+1415555267", "0488023555"])
def test_to_must_be_a_valid_e164_number(to):
    rejected(ErrorCode.TO_INVALID, "To", To=to)


@pytest.mark.parametrize("to", ["", None, ...])
def test_to_is_required(to):
    rejected(ErrorCode.TO_REQUIRED, "To", To=to)


@pytest.mark.parametrize("text", ["", None, ...])
def test_text_is_required(text):
    rejected(ErrorCode.TEXT_REQUIRED, "Text", Text=text)


def test_text_up_to_the_documented_maximum_is_accepted_and_one_more_is_not():
    assert parse(Text="a" * 1600).text_info.segments == 11
    rejected(ErrorCode.TEXT_TOO_LONG, "Text", Text="a" * 1601)


def test_schedule_exactly_14_days_ahead_is_accepted_and_one_second_more_is_not():
    assert parse(Schedule=NOW + 1_209_600).deliver_at == NOW + 1_209_600
    rejected(ErrorCode.SCHEDULE_TOO_FAR, "Schedule", Schedule=NOW + 1_209_601)


def test_schedule_3599_seconds_ago_is_sent_now_and_3600_seconds_ago_is_rejected():
    request = parse(Schedule=NOW - 3599)
    assert (request.schedule, request.deliver_at) == (NOW - 3599, NOW)
    rejected(ErrorCode.SCHEDULE_IN_PAST, "Schedule", Schedule=NOW - 3600)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("Schedule", "1800000000", "an integer"),
        ("Schedule", 1.8e9, "an integer"),
        ("Schedule", True, "an integer"),
        ("DeliveryReceipt", "true", "a boolean"),
        ("DeliveryReceipt", 1, "a boolean"),
        ("Text", 42, "a string"),
        ("To", ["+61488023555"], "a string"),
        ("ExternalId", {"id": 1}, "a string"),
    ],
)
def test_wrong_json_types_are_rejected_with_the_parameter_named(field, value, expected):
    with pytest.raises(ValidationError) as caught:
        parse(**{field: value})
    assert caught.value.code is ErrorCode.INVALID_TYPE
    assert caught.value.parameter == field
    assert expected in caught.value.message


def test_unknown_and_wrongly_cased_parameters_are_rejected():
    rejected(ErrorCode.UNKNOWN_PARAMETER, "to", to="+61488023555")
    rejected(ErrorCode.UNKNOWN_PARAMETER, "MediaUrl", MediaUrl="https://example.com/a.png")


def test_body_that_is_not_an_object_is_rejected():
    for body in ([BASE], "text", 12, None):
        with pytest.raises(ValidationError) as caught:
            parse_send_request(body, now=NOW)
        assert caught.value.code is ErrorCode.BODY_NOT_OBJECT


def test_delivery_receipt_defaults_to_true_and_can_be_turned_off():
    assert parse().delivery_receipt is True
    assert parse(DeliveryReceipt=False).delivery_receipt is False


@pytest.mark.parametrize("method", ["GET", "POST", "get"])
def test_receipt_webhook_method_accepts_post_and_get(method):
    assert (
        parse(DeliveryReceiptWebhookMethod=method).delivery_receipt_webhook_method == method.upper()
    )


def test_receipt_webhook_method_rejects_anything_else():
    rejected(
        ErrorCode.WEBHOOK_METHOD_INVALID,
        "DeliveryReceiptWebhookMethod",
        DeliveryReceiptWebhookMethod="PUT",
    )


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://example.com/hook",
        "/relative/hook",
        "https://user:pass@example.com/hook",
        "https://example.com/a b",
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost:8080/hook",
        "https://" + "a" * 2048 + ".com",
    ],
)
def test_receipt_webhook_uri_must_be_public_http(uri):
    rejected(
        ErrorCode.WEBHOOK_URI_INVALID, "DeliveryReceiptWebhookUri", DeliveryReceiptWebhookUri=uri
    )


@pytest.mark.parametrize(
    "option",
    [
        {"ForwardToSms": "+61499333222"},
        {"ForwardFromSms": "Shop"},
        {"ForwardToEmail": "a@example.com"},
        {"ForwardFromEmail": "a@example.com"},
        {"WebhookUri": "https://example.com/replies"},
        {"WebhookMethod": "GET"},
    ],
)
@pytest.mark.parametrize("sender", ["+61499009990", "MyShop"])
def test_lease_only_options_with_a_non_lease_from_are_rejected(option, sender):
    (name,) = option
    rejected(ErrorCode.LEASE_OPTION_WITHOUT_LEASE, name, From=sender, **option)


def test_lease_options_are_validated():
    rejected(ErrorCode.FORWARD_SMS_INVALID, "ForwardToSms", From="", ForwardToSms="0499333222")
    rejected(ErrorCode.FORWARD_SMS_INVALID, "ForwardFromSms", From="", ForwardFromSms="12345")
    rejected(ErrorCode.FORWARD_EMAIL_INVALID, "ForwardToEmail", From="", ForwardToEmail="nobody")
    rejected(
        ErrorCode.FORWARD_EMAIL_INVALID,
        "ForwardFromEmail",
        From="",
        ForwardFromEmail="a@example.com\r\nBcc: x@evil.com",
    )
    rejected(ErrorCode.WEBHOOK_URI_INVALID, "WebhookUri", From="", WebhookUri="http://10.1.2.3/")
    rejected(ErrorCode.WEBHOOK_METHOD_INVALID, "WebhookMethod", From="", WebhookMethod="PATCH")


def test_external_id_is_limited_to_256_printable_characters():
    assert parse(ExternalId="x" * 256).external_id == "x" * 256
    rejected(ErrorCode.EXTERNAL_ID_INVALID, "ExternalId", ExternalId="x" * 257)
    rejected(ErrorCode.EXTERNAL_ID_INVALID, "ExternalId", ExternalId="a\x00b")


def test_forward_to_sms_equal_to_the_messages_own_recipient_is_rejected_as_a_loop():
    rejected(ErrorCode.FORWARD_SMS_LOOP, "ForwardToSms", From="", ForwardToSms=BASE["To"])


def test_validity_period_counts_from_acceptance_or_from_the_schedule():
    assert (parse().validity_period, parse().valid_until) == (None, None)
    now = parse(ValidityPeriod=600)
    assert (now.validity_period, now.valid_until) == (600, NOW + 600)
    scheduled = parse(ValidityPeriod=600, Schedule=NOW + 3600)
    assert scheduled.valid_until == NOW + 3600 + 600
    # a Schedule less than an hour ago is sent now: its clock starts now, not in the past
    assert parse(ValidityPeriod=600, Schedule=NOW - 3000).valid_until == NOW + 600


def test_validity_period_from_1_to_36000_seconds_is_accepted_and_outside_is_not():
    assert parse(ValidityPeriod=1).validity_period == 1
    assert parse(ValidityPeriod=36_000).validity_period == 36_000
    assert parse(ValidityPeriod=None).validity_period is None
    for value in (0, -5, 36_001, 10**12):
        rejected(ErrorCode.VALIDITY_PERIOD_INVALID, "ValidityPeriod", ValidityPeriod=value)


@pytest.mark.parametrize("value", ["600", 600.0, 1.5, True, [600], {"s": 600}])
def test_a_validity_period_that_is_not_an_integer_has_its_own_code(value):
    with pytest.raises(ValidationError) as caught:
        parse(ValidityPeriod=value)
    assert (caught.value.code, caught.value.parameter) == (
        ErrorCode.VALIDITY_PERIOD_INVALID,
        "ValidityPeriod",
    )
    assert "1 to 36000" in caught.value.message


CURLY = "Your order\u2019s ready \u2014 \u201cpick up\u201d at desk 4\u2026"


def test_smart_encoding_replaces_look_alikes_before_segments_are_counted():
    plain = parse(Text=CURLY)
    smart = parse(Text=CURLY, SmartEncoding=True)

    assert (plain.text, plain.text_info.encoding, plain.smart_encoding) == (CURLY, "UCS-2", False)
    assert smart.text == 'Your order\'s ready - "pick up" at desk 4...'
    assert (smart.text_info.encoding, smart.smart_encoding) == ("GSM-7", True)
    assert parse(Text=CURLY, SmartEncoding=False).text == CURLY


def test_smart_encoding_leaves_characters_without_a_look_alike_and_the_text_stays_ucs2():
    request = parse(Text="Thanks \u2013 see you \U0001f600", SmartEncoding=True)
    assert request.text == "Thanks - see you \U0001f600"
    assert request.text_info.encoding == "UCS-2"


def test_the_text_limit_holds_for_the_text_smart_encoding_sends():
    assert parse(Text="\u2026" * 533 + "a", SmartEncoding=True).text == "..." * 533 + "a"
    with pytest.raises(ValidationError) as caught:
        parse(Text="\u2026" * 534, SmartEncoding=True)
    assert (caught.value.code, caught.value.parameter) == (ErrorCode.TEXT_TOO_LONG, "Text")
    assert "SmartEncoding" in caught.value.message


def test_a_request_that_does_not_say_takes_the_propertys_smart_encoding_and_one_that_does_wins():
    def smart(**changes) -> bool:
        body = {**BASE, "Text": CURLY, **changes}
        return parse_send_request(body, now=NOW, smart_encoding_default=True).smart_encoding

    assert (smart(), smart(SmartEncoding=None)) == (True, True)
    assert (smart(SmartEncoding=True), smart(SmartEncoding=False)) == (True, False)


@pytest.mark.parametrize("value", ["true", 1, 0, [True]])
def test_smart_encoding_that_is_not_a_boolean_has_its_own_code(value):
    rejected(ErrorCode.SMART_ENCODING_INVALID, "SmartEncoding", SmartEncoding=value)
