"""TwilioCarrier's callback side: X-Twilio-Signature, status callbacks and inbound replies."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from smsgw.carriers.twilio import IGNORED, TwilioCarrier, signature
from smsgw.models.carrier import CallbackRejectedError, CallbackRequest

# The worked example in Twilio's "Secure webhooks" documentation
# (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
DOC_SIGNATURE = "GvWf1cFY/Q7PnoempGyD5oXAezc="

TOKEN = "test-auth-token"
RECEIPT_URL = "https://gw.example.com/v1/Carriers/twilio/Receipts?smsgw_sid=SMours"


def _post(
    url: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> CallbackRequest:
    """A form POST as Twilio sends it; signed with TOKEN unless `headers` are given."""
    if headers is None:
        headers = {"X-Twilio-Signature": signature(TOKEN, url, params.items())}
    query = dict(parse_qsl(urlsplit(url).query))
    return CallbackRequest(
        method="POST", url=url, headers=headers, body=urlencode(params), query=query
    )


def test_documented_example_verifies() -> None:
    # Given Twilio's published example request and signature
    request = CallbackRequest(
        method="POST",
        url=DOC_URL,
        headers={"X-Twilio-Signature": DOC_SIGNATURE},
        body=urlencode(DOC_PARAMS),
        query={"foo": "1", "bar": "2"},
    )
    # When / Then
    assert signature(DOC_TOKEN, DOC_URL, DOC_PARAMS.items()) == DOC_SIGNATURE
    assert TwilioCarrier("ACx", DOC_TOKEN).verify(request)


GENUINE = {"MessageSid": "SM1", "MessageStatus": "delivered"}
GENUINE_SIGNATURE = {"X-Twilio-Signature": signature(TOKEN, RECEIPT_URL, GENUINE.items())}


@pytest.mark.parametrize(
    ("url", "params", "headers"),
    [
        pytest.param(
            RECEIPT_URL, GENUINE | {"MessageStatus": "failed"}, GENUINE_SIGNATURE, id="param"
        ),
        pytest.param(RECEIPT_URL, GENUINE | {"ErrorCode": "1"}, GENUINE_SIGNATURE, id="added"),
        pytest.param(RECEIPT_URL + "x", GENUINE, GENUINE_SIGNATURE, id="url"),
        pytest.param(
            RECEIPT_URL,
            GENUINE,
            {"X-Twilio-Signature": signature("other-token", RECEIPT_URL, GENUINE.items())},
            id="token",
        ),
        pytest.param(RECEIPT_URL, GENUINE, {}, id="no-header"),
    ],
)
def test_tampered_callback_is_rejected(
    url: str, params: dict[str, str], headers: dict[str, str]
) -> None:
    # Given a carrier that accepts the genuine callback
    carrier = TwilioCarrier("ACx", TOKEN)
    assert carrier.verify(_post(RECEIPT_URL, GENUINE, GENUINE_SIGNATURE))
    # When one part of it is changed after signing
    forged = _post(url, params, headers)
    # Then it is rejected
    assert not carrier.verify(forged)


def test_signature_header_name_is_case_insensitive_and_default_port_tolerated() -> None:
    # Given a callback whose header arrives lower-cased (API Gateway v2 does that)
    params = {"MessageSid": "SM1", "MessageStatus": "sent"}
    value = signature(TOKEN, RECEIPT_URL, params.items())
    lower = _post(RECEIPT_URL, params, {"x-twilio-signature": value})
    # and one whose URL gained the default :443 on the way in
    with_port = RECEIPT_URL.replace("example.com/", "example.com:443/")
    ported = _post(with_port, params, {"X-TWILIO-SIGNATURE": value})
    # When / Then both verify
    carrier = TwilioCarrier("ACx", TOKEN)
    assert carrier.verify(lower)
    assert carrier.verify(ported)


def test_get_callback_signs_the_url_only() -> None:
    # Given a GET callback: its parameters are in the (signed) query string
    url = "https://gw.example.com/v1/Carriers/twilio/Receipts?MessageSid=SM1&MessageStatus=sent"
    request = CallbackRequest(
        method="GET",
        url=url,
        headers={"X-Twilio-Signature": signature(TOKEN, url)},
        query={"MessageSid": "SM1", "MessageStatus": "sent"},
    )
    carrier = TwilioCarrier("ACx", TOKEN)
    # When / Then it verifies and parses
    assert carrier.verify(request)
    assert carrier.parse_receipt(request).status == "sent"


@pytest.mark.parametrize(
    ("twilio_status", "status"),
    [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
        ("queued", IGNORED),
        ("sending", IGNORED),
        ("accepted", IGNORED),
        ("some-future-status", IGNORED),
    ],
)
def test_status_callback_maps_to_product_status(twilio_status: str, status: str) -> None:
    # Given a status callback with our own MessageSid in its URL
    params = {"MessageSid": "SMcarrier", "MessageStatus": twilio_status}
    # When it is parsed
    receipt = TwilioCarrier("ACx", TOKEN).parse_receipt(_post(RECEIPT_URL, params))
    # Then the status is the product's and both sids are kept
    assert (receipt.status, receipt.carrier_sid, receipt.message_sid) == (
        status,
        "SMcarrier",
        "SMours",
    )


def test_failed_receipt_carries_error_code_and_message() -> None:
    # Given Twilio reports an undeliverable message
    params = {
        "MessageSid": "SMcarrier",
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "ErrorMessage": "Unreachable destination handset",
    }
    # When it is parsed
    receipt = TwilioCarrier("ACx", TOKEN).parse_receipt(_post(RECEIPT_URL, params))
    # Then the error code is a number and the message is kept
    assert receipt.error_code == 30003
    assert receipt.error_message == "Unreachable destination handset"


@pytest.mark.parametrize(
    "params",
    [
        {"MessageStatus": "delivered"},
        {"MessageSid": "SM1"},
        {"MessageSid": "", "MessageStatus": ""},
    ],
)
def test_malformed_status_callback_is_rejected(params: dict[str, str]) -> None:
    with pytest.raises(CallbackRejectedError):
        TwilioCarrier("ACx", TOKEN).parse_receipt(_post(RECEIPT_URL, params))


def test_inbound_message_parses_into_reply() -> None:
    # Given an inbound SMS callback
    url = "https://gw.example.com/v1/Carriers/twilio/Responses"
    params = {
        "MessageSid": "SMin",
        "AccountSid": "ACx",
        "From": "+447700900123",
        "To": "+14155550100",
        "Body": "Yes, 3pm works",
        "NumMedia": "0",
    }
    # When it is parsed
    reply = TwilioCarrier("ACx", TOKEN).parse_reply(_post(url, params))
    # Then responder, our number and the text are read
    assert (reply.carrier_sid, reply.responder, reply.number, reply.text) == (
        "SMin",
        "+447700900123",
        "+14155550100",
        "Yes, 3pm works",
    )
    # and an inbound message without its sender is rejected
    with pytest.raises(CallbackRejectedError):
        TwilioCarrier("ACx", TOKEN).parse_reply(_post(url, {"MessageSid": "SMin", "To": "+1"}))
