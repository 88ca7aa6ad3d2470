"""VonageCarrier without a network: the form it submits, how it reads Vonage's answers, the
`sig` of signed callbacks, delivery receipts and inbound messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests

from smsgw.carriers.vonage import (
    IGNORED,
    VonageCarrier,
    VonageSubmitResult,
    e164,
    signature,
    vonage_number,
)
from smsgw.carriers.vonage_codes import SUBMIT_STATUSES
from smsgw.models.carrier import (
    CallbackRejectedError,
    CallbackRequest,
    CarrierError,
    OutboundSms,
    OutcomeUnknownError,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vonage"
SECRET = "test-signature-secret"
NOW = 1_750_000_000.0
RECEIPTS_URL = "https://gw.example.com/v1/Carriers/vonage/Receipts"
REPLIES_URL = "https://gw.example.com/v1/Carriers/vonage/Responses"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _carrier(method: str = "md5hash", session: Any = None) -> VonageCarrier:
    return VonageCarrier(
        "abcd1234",
        "api-secret",
        signature_secret=SECRET,
        signature_method=method,
        session=session,
        clock=lambda: NOW,
    )


def _signed(params: dict[str, str], method: str = "md5hash", at: float = NOW) -> dict[str, str]:
    """`params` as Vonage signs them: plus timestamp, nonce and sig."""
    signed = dict(params) | {"timestamp": str(int(at)), "nonce": "6fa1c9e4-0d2b-4a55"}
    signed["sig"] = signature(SECRET, signed.items(), method)
    return signed


def _json_post(url: str, params: dict[str, str]) -> CallbackRequest:
    return CallbackRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/json"},
        body=json.dumps(params),
    )


def _form_post(url: str, params: dict[str, str]) -> CallbackRequest:
    return CallbackRequest(
        method="POST",
        url=url,
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=urlencode(params),
    )


def _get(url: str, params: dict[str, str]) -> CallbackRequest:
    return CallbackRequest(
        method="GET", url=f"{url}?{urlencode(params)}", headers={}, query=dict(params)
    )


# --- signatures ------------------------------------------------------------------------


def test_published_md5hash_vector_verifies() -> None:
    # Given the md5hash vector of Vonage's Python SDK tests (fixtures/vonage/README.md)
    vector = _fixture("signature_vector.json")
    # When it is recomputed, Then it matches (we write it upper-case)
    assert signature(vector["secret"], vector["params"].items()) == vector["sig"].upper()
    # and a carrier with that secret, at that time, accepts it lower-case as published
    carrier = VonageCarrier(
        "k",
        "s",
        signature_secret=vector["secret"],
        clock=lambda: float(vector["params"]["timestamp"]),
    )
    assert carrier.verify(_get(RECEIPTS_URL, vector["params"] | {"sig": vector["sig"]}))


def test_hmac_sha256_matches_the_documented_algorithm_by_hand() -> None:
    # Given the documented steps written out for our own values: sort by name, `&k=v`,
    # `&` and `=` in values replaced by `_`, HMAC-SHA256 keyed with the secret, upper hex
    import hashlib
    import hmac

    params = {"text": "a=b&c", "msisdn": "447700900001", "timestamp": "1750000000"}
    signed_string = "&msisdn=447700900001&text=a_b_c&timestamp=1750000000"
    by_hand = hmac.new(SECRET.encode(), signed_string.encode(), hashlib.sha256).hexdigest()
    # When / Then the adapter computes the same
    assert signature(SECRET, params.items(), "sha256") == by_hand.upper()
    # and the SDK's published sha256 vector holds too
    assert (
        signature(
            "signature_secret",
            {"param1": "value1", "param2": "value2", "timestamp": "1234567890"}.items(),
            "sha256",
        )
        == "280C4320703DBC98BFA22DB676655ED2ACFBFE8792B062FF7622E67F1183C287"
    )


@pytest.mark.parametrize("method", ["md5hash", "md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("transport", [_json_post, _form_post, _get])
def test_signed_receipt_verifies_for_every_method_and_transport(method: str, transport) -> None:
    # Given a DLR signed with the configured method, sent as JSON, form or query string
    request = transport(RECEIPTS_URL, _signed(_fixture("dlr.json"), method))
    # When / Then it verifies
    assert _carrier(method).verify(request)


GENUINE = _signed(_fixture("dlr.json") | {"client-ref": "SMours"})


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(GENUINE | {"status": "failed"}, id="status-changed"),
        pytest.param(GENUINE | {"err-code": "6"}, id="err-code-changed"),
        pytest.param(GENUINE | {"extra": "1"}, id="param-added"),
        pytest.param({k: v for k, v in GENUINE.items() if k != "price"}, id="param-removed"),
        pytest.param(GENUINE | {"sig": "0" * 32}, id="sig-replaced"),
        pytest.param({k: v for k, v in GENUINE.items() if k != "sig"}, id="sig-missing"),
        pytest.param(
            GENUINE | {"sig": signature("other-secret", GENUINE.items())}, id="other-secret"
        ),
    ],
)
def test_tampered_callback_is_rejected(forged: dict[str, str]) -> None:
    carrier = _carrier()
    assert carrier.verify(_json_post(RECEIPTS_URL, GENUINE))
    assert not carrier.verify(_json_post(RECEIPTS_URL, forged))


@pytest.mark.parametrize(("age", "ok"), [(-299, True), (299, True), (-301, False), (301, False)])
def test_timestamp_must_be_within_five_minutes(age: float, ok: bool) -> None:
    # Given a correctly signed DLR whose timestamp is `age` seconds from our clock
    request = _json_post(RECEIPTS_URL, _signed(_fixture("dlr.json"), at=NOW + age))
    # When / Then only a fresh one verifies
    assert _carrier().verify(request) is ok


def test_without_a_signature_secret_nothing_verifies() -> None:
    carrier = VonageCarrier("k", "s", signature_secret=None, clock=lambda: NOW)
    assert not carrier.verify(_json_post(RECEIPTS_URL, _signed(_fixture("dlr.json"))))


def test_signature_of_another_method_is_rejected_and_bad_method_refused() -> None:
    request = _json_post(RECEIPTS_URL, _signed(_fixture("dlr.json"), "sha1"))
    assert not _carrier("sha256").verify(request)
    with pytest.raises(ValueError, match="signature method"):
        VonageCarrier("k", "s", signature_secret=SECRET, signature_method="sha3")


def test_unparseable_json_body_does_not_verify() -> None:
    request = CallbackRequest(
        method="POST", url=RECEIPTS_URL, headers={"Content-Type": "application/json"}, body="{"
    )
    assert not _carrier().verify(request)


# --- receipts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vonage_status", "status"),
    [
        ("delivered", "delivered"),
        ("accepted", "sent"),
        ("expired", "undelivered"),
        ("failed", "undelivered"),
        ("rejected", "failed"),
        ("buffered", IGNORED),
        ("unknown", IGNORED),
        ("some-future-status", IGNORED),
    ],
)
def test_receipt_status_maps_to_product_status(vonage_status: str, status: str) -> None:
    params = _fixture("dlr.json") | {"status": vonage_status, "client-ref": "SMours"}
    receipt = _carrier().parse_receipt(_json_post(RECEIPTS_URL, params))
    assert (receipt.status, receipt.carrier_sid, receipt.message_sid) == (
        status,
        "0B00000127FDBC63",
        "SMours",
    )


def test_documented_receipt_parses_without_error() -> None:
    # Given Vonage's documented DLR (no client-ref, err-code 0)
    receipt = _carrier().parse_receipt(_json_post(RECEIPTS_URL, _fixture("dlr.json")))
    # Then it is delivered, with no error and no MessageSid of ours
    assert (receipt.status, receipt.error_code, receipt.error_message, receipt.message_sid) == (
        "delivered",
        None,
        None,
        None,
    )


def test_failed_receipt_carries_err_code_and_its_meaning() -> None:
    params = _fixture("dlr_signed.json") | {"status": "failed", "err-code": "3"}
    receipt = _carrier().parse_receipt(_form_post(RECEIPTS_URL, params))
    assert (receipt.status, receipt.error_code, receipt.error_message) == (
        "undelivered",
        3,
        "Absent Subscriber - Permanent",
    )


def test_receipt_falls_back_to_smsgw_sid_in_the_url() -> None:
    request = CallbackRequest(
        method="POST",
        url=RECEIPTS_URL + "?smsgw_sid=SMfromurl",
        headers={"Content-Type": "application/json"},
        body=json.dumps(_fixture("dlr.json")),
        query={"smsgw_sid": "SMfromurl"},
    )
    assert _carrier().parse_receipt(request).message_sid == "SMfromurl"


@pytest.mark.parametrize("missing", ["messageId", "status"])
def test_malformed_receipt_is_rejected(missing: str) -> None:
    params = {k: v for k, v in _fixture("dlr.json").items() if k != missing}
    with pytest.raises(CallbackRejectedError):
        _carrier().parse_receipt(_json_post(RECEIPTS_URL, params))


# --- replies ---------------------------------------------------------------------------


def test_inbound_message_parses_into_reply_with_e164_numbers() -> None:
    # Given Vonage's documented inbound message (one part of a concatenated text), signed
    request = _get(REPLIES_URL, _signed(_fixture("inbound.json")))
    carrier = _carrier()
    # When it is verified and parsed
    assert carrier.verify(request)
    reply = carrier.parse_reply(request)
    # Then the numbers gain their "+" and the part's text is returned as it is
    assert (reply.carrier_sid, reply.responder, reply.number, reply.text) == (
        "0A0000000123ABCD1",
        "+447700900001",
        "+447700900000",
        "Hello world",
    )


def test_inbound_message_without_sender_is_rejected() -> None:
    params = {k: v for k, v in _fixture("inbound.json").items() if k != "msisdn"}
    with pytest.raises(CallbackRejectedError):
        _carrier().parse_reply(_json_post(REPLIES_URL, params))


def test_number_conversions() -> None:
    assert vonage_number("+447700900000") == "447700900000"
    assert vonage_number("Acme") == "Acme"
    assert e164("447700900000") == "+447700900000"
    assert e164("AcmeInc") == "AcmeInc"


# --- submit (a fake session: no network) -------------------------------------------------


class _FakeSession:
    """Records the POST and answers with a canned response."""

    def __init__(self, status: int = 200, body: Any = None, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}
        self.calls: list[dict[str, Any]] = []

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code = self.status
        response.headers.update(self.headers)
        raw = self.body if isinstance(self.body, str) else json.dumps(self.body)
        response._content = raw.encode()
        return response


def _sms(text: str = "Your code is 1234", to: str = "+447700900000") -> OutboundSms:
    return OutboundSms(
        message_sid="SM" + "a" * 32,
        sender="+14155550100",
        to=to,
        text=text,
        status_callback_url=RECEIPTS_URL + "?smsgw_sid=SM" + "a" * 32,
    )


def test_submit_sends_vonage_form_and_returns_the_message_id() -> None:
    # Given Vonage accepts the message (documented answer)
    session = _FakeSession(body=_fixture("submit_response.json"))
    # When a message is submitted
    result = _carrier(session=session).submit(_sms())
    # Then the form is Vonage's: numbers without "+", our sid as client-ref, the callback
    [call] = session.calls
    assert call["url"] == "https://rest.nexmo.com/sms/json"
    assert call["data"] == {
        "api_key": "abcd1234",
        "api_secret": "api-secret",
        "from": "14155550100",
        "to": "447700900000",
        "text": "Your code is 1234",
        "client-ref": "SM" + "a" * 32,
        "callback": RECEIPTS_URL,
    }
    assert result == VonageSubmitResult("0C000000217B7F02", "accepted", ("0C000000217B7F02",))


def test_non_gsm_text_is_sent_as_unicode() -> None:
    session = _FakeSession(body=_fixture("submit_response.json"))
    _carrier(session=session).submit(_sms(text="Καλημέρα 👋"))
    assert session.calls[0]["data"]["type"] == "unicode"
    session.calls.clear()
    _carrier(session=session).submit(_sms(text="Plain GSM text €"))
    assert "type" not in session.calls[0]["data"]


def test_callback_keeps_other_query_parameters() -> None:
    session = _FakeSession(body=_fixture("submit_response.json"))
    sms = OutboundSms("SMx", "Acme", "+447700900000", "hi", RECEIPTS_URL + "?a=1&smsgw_sid=SMx")
    _carrier(session=session).submit(sms)
    assert session.calls[0]["data"]["callback"] == RECEIPTS_URL + "?a=1"


def test_multipart_answer_keeps_every_part_id() -> None:
    parts = [{"status": "0", "message-id": f"ID{i}", "to": "447700900000"} for i in range(3)]
    session = _FakeSession(body={"message-count": "3", "messages": parts})
    result = _carrier(session=session).submit(_sms(text="x" * 400))
    assert (result.carrier_sid, result.message_ids) == ("ID0", ("ID0", "ID1", "ID2"))


def test_partly_accepted_message_is_permanent_so_it_is_not_resent() -> None:
    parts = [{"status": "0", "message-id": "ID0"}, {"status": "1", "error-text": "Throttled"}]
    session = _FakeSession(body={"message-count": "2", "messages": parts})
    with pytest.raises(CarrierError) as caught:
        _carrier(session=session).submit(_sms(text="x" * 200))
    assert (caught.value.permanent, caught.value.code) == (True, "1")
    assert "1 of 2 parts" in str(caught.value)


@pytest.mark.parametrize(("status", "expected"), sorted(SUBMIT_STATUSES.items()))
def test_vonage_status_codes_are_classified(status: int, expected: tuple[str, bool]) -> None:
    meaning, permanent = expected
    session = _FakeSession(body={"message-count": "1", "messages": [{"status": str(status)}]})
    with pytest.raises(CarrierError) as caught:
        _carrier(session=session).submit(_sms())
    assert (caught.value.permanent, caught.value.code) == (permanent, str(status))
    assert meaning in str(caught.value)


def test_documented_error_answer_keeps_vonage_error_text() -> None:
    session = _FakeSession(body=_fixture("submit_error.json"))
    with pytest.raises(CarrierError) as caught:
        _carrier(session=session).submit(_sms())
    assert (caught.value.permanent, caught.value.code) == (True, "2")
    assert "Missing to param" in str(caught.value)


def test_undocumented_status_is_permanent() -> None:
    session = _FakeSession(body={"messages": [{"status": "101", "error-text": "New rule"}]})
    with pytest.raises(CarrierError) as caught:
        _carrier(session=session).submit(_sms())
    assert (caught.value.permanent, caught.value.code) == (True, "101")


@pytest.mark.parametrize(
    ("http_status", "permanent", "retry_after"),
    [
        (429, False, 2.0),
        (401, False, None),
        (403, False, None),
        (400, True, None),
        (500, False, None),
        (503, False, None),
    ],
)
def test_http_level_failures_are_classified(
    http_status: int, permanent: bool, retry_after: float | None
) -> None:
    session = _FakeSession(status=http_status, body={}, headers={"Retry-After": "2"})
    with pytest.raises(CarrierError) as caught:
        _carrier(session=session).submit(_sms())
    assert caught.value.permanent is permanent
    if http_status == 429:
        assert caught.value.retry_after == retry_after


@pytest.mark.parametrize(
    "body",
    ["not json", {"message-count": "0", "messages": []}, {"messages": [{"status": "0"}]}, []],
)
def test_unreadable_success_is_an_unknown_outcome(body: Any) -> None:
    session = _FakeSession(body=body)
    with pytest.raises(OutcomeUnknownError):
        _carrier(session=session).submit(_sms())


def test_form_body_as_vonage_posts_it_round_trips() -> None:
    # A form-encoded inbound message with a "+" and spaces survives encoding
    params = _signed({"msisdn": "447700900001", "to": "447700900000", "messageId": "X"})
    params |= {"text": "a+b c&d"}
    params["sig"] = signature(SECRET, params.items())
    request = _form_post(REPLIES_URL, params)
    assert dict(parse_qsl(request.body)) == params
    assert _carrier().verify(request)
    assert _carrier().parse_reply(request).text == "a+b c&d"
