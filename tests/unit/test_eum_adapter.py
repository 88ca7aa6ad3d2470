"""EndUserMessagingCarrier without a network: SendTextMessage through botocore's Stubber,
SNS signatures made with the test's own key and certificate (issued by a CA the adapter is
told to trust), delivery events and replies."""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from cryptography.x509.verification import Store

from smsgw.carriers.eum import EVENT_STATUS, IGNORED, EndUserMessagingCarrier
from smsgw.carriers.sns_certificates import trust_store
from smsgw.carriers.sns_messages import string_to_sign
from smsgw.models.carrier import (
    CallbackRejectedError,
    CallbackRequest,
    CarrierError,
    OutboundSms,
    OutcomeUnknownError,
)
from smsgw_tools.simulators.certificates import LocalAuthority

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eum"
TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"
CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-test.pem"
URL = "https://gw.example.com/v1/Carriers/eum/Receipts"
SID = "SM" + "b" * 32
SNS_NAME = ("sns.amazonaws.com",)
TRUSTED = LocalAuthority("test CA the adapter trusts")


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def certificate_pem(key: rsa.RSAPrivateKey) -> bytes:
    return _pem(TRUSTED.issue(key, "sns.amazonaws.com", dns_names=SNS_NAME))


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


Extension = tuple[x509.ExtensionType, bool]
"""An extension and whether it is critical."""
SNS_SAN: Extension = (x509.SubjectAlternativeName([x509.DNSName(SNS_NAME[0])]), False)


def _certificate(
    key: rsa.RSAPrivateKey,
    name: str,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    *extensions: Extension,
) -> x509.Certificate:
    """A certificate for `key`, valid today, signed by `issuer` (its certificate and key;
    self-signed without one)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(key: rsa.RSAPrivateKey, name: str, issuer: Any = None) -> x509.Certificate:
    return _certificate(
        key,
        name,
        issuer,
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.KeyUsage(True, False, False, False, False, True, True, False, False), True),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
    )


class _Fetcher:
    """Serves the test certificate and counts what was fetched."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


@pytest.fixture
def fetcher(certificate_pem: bytes) -> _Fetcher:
    return _Fetcher(certificate_pem)


def _carrier(fetcher: Any = None, client: Any = None, **kwargs: Any) -> EndUserMessagingCarrier:
    return EndUserMessagingCarrier(
        client,
        origination_identity="pool-0123456789abcdef",
        configuration_set="smsgw-events",
        certificate_fetcher=fetcher,
        **{"topic_arns": [TOPIC], "trust_store": lambda: Store([TRUSTED.certificate])} | kwargs,
    )


def _sign(message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict[str, Any]:
    """The SNS message signed as SNS signs it, with our key."""
    signed = dict(message) | {"SignatureVersion": version, "SigningCertURL": CERT_URL}
    fields = (
        ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if signed["Type"] == "Notification"
        else ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    )
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
    raw = key.sign(string_to_sign(signed, fields), padding.PKCS1v15(), algorithm)
    signed["Signature"] = base64.b64encode(raw).decode()
    return signed


def _notification(event: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict:
    envelope = _fixture("sns_notification.json") | {"Message": json.dumps(event)}
    envelope.pop("Subject")  # End User Messaging publishes without a Subject
    return _sign(envelope, key, version)


def _post(message: dict[str, Any], url: str = URL) -> CallbackRequest:
    return CallbackRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "x"},
        body=json.dumps(message),
    )


# --- SNS signatures --------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_notification_verifies_and_certificate_is_fetched_once(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher, version: str
) -> None:
    # Given a documented SNS notification (Subject and all), signed with our key
    carrier = _carrier(fetcher)
    message = _sign(_fixture("sns_notification.json"), key, version)
    # When it is verified twice
    assert carrier.verify(_post(message))
    assert carrier.verify(_post(message))
    # Then the certificate was fetched once, from the message's URL
    assert fetcher.urls == [CERT_URL]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"Message": "Hello world?"}, id="message"),
        pytest.param({"Subject": "Another"}, id="subject"),
        pytest.param({"TopicArn": TOPIC + "2"}, id="topic"),
        pytest.param({"Timestamp": "2012-05-02T00:54:07.655Z"}, id="timestamp"),
        pytest.param({"Type": "SubscriptionConfirmation"}, id="type"),
        pytest.param({"SignatureVersion": "1"}, id="version"),
        pytest.param({"SignatureVersion": "3"}, id="unknown-version"),
        pytest.param({"Signature": "bm90IGEgc2lnbmF0dXJl"}, id="signature"),
        pytest.param({"Signature": "%%%"}, id="not-base64"),
    ],
)
def test_tampered_notification_is_rejected(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher, change: dict[str, str]
) -> None:
    carrier = _carrier(fetcher)
    genuine = _sign(_fixture("sns_notification.json"), key)
    assert carrier.verify(_post(genuine))
    assert not carrier.verify(_post(genuine | change))


def test_notification_signed_by_another_key_is_rejected(fetcher: _Fetcher) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = _sign(_fixture("sns_notification.json"), other)
    assert not _carrier(fetcher).verify(_post(message))


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://evil.example.com/SimpleNotificationService-test.pem",
        "http://sns.us-west-2.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.us-west-2.amazonaws.com.evil.example/cert.pem",
        "https://sns.us-west-2.amazonaws.com@evil.example/cert.pem",
        "https://user@sns.us-west-2.amazonaws.com/cert.pem",
        "https://sns.us-west-2.amazonaws.com:8443/cert.pem",
        "https://sns.us-west-2.amazonaws.com/cert.txt",
        "https://s3.amazonaws.com/cert.pem",
    ],
)
def test_certificate_off_the_sns_hosts_is_never_fetched(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher, cert_url: str
) -> None:
    # Given a correctly signed message whose SigningCertURL points elsewhere
    message = _sign(_fixture("sns_notification.json"), key) | {"SigningCertURL": cert_url}
    # When / Then it is rejected without fetching anything
    assert not _carrier(fetcher).verify(_post(message))
    assert fetcher.urls == []


def test_china_region_host_is_an_sns_host(key: rsa.RSAPrivateKey, fetcher: _Fetcher) -> None:
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-test.pem"
    message = _fixture("sns_notification.json") | {"SigningCertURL": url}
    signed = _sign(message, key)
    signed["SigningCertURL"] = url  # _sign set CERT_URL; the signature does not cover it
    assert _carrier(fetcher).verify(_post(signed))
    assert fetcher.urls == [url]


def test_only_configured_topics_verify(key: rsa.RSAPrivateKey, fetcher: _Fetcher) -> None:
    message = _sign(_fixture("sns_notification.json"), key)
    assert _carrier(fetcher, topic_arns=[TOPIC]).verify(_post(message))
    assert not _carrier(fetcher, topic_arns=[TOPIC + "-other"]).verify(_post(message))


def test_without_configured_topics_no_sns_message_verifies_or_is_confirmed(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher
) -> None:
    # Given an adapter with no topics (the template's secret: "TopicArns": [])
    carrier = _carrier(fetcher, topic_arns=[])
    notification = _sign(_fixture("sns_notification.json"), key)
    confirmation = _sign(_fixture("sns_subscription_confirmation.json"), key)

    # When / Then validly signed messages are refused, and nothing is fetched or confirmed
    assert not carrier.verify(_post(notification))
    assert not carrier.confirm_subscription(_post(confirmation))
    assert fetcher.urls == []


@pytest.mark.parametrize(
    "issued_by",
    [
        pytest.param(lambda key: _certificate(key, "sns", None, SNS_SAN), id="self-signed"),
        pytest.param(
            lambda key: LocalAuthority("untrusted CA").issue(key, "sns", dns_names=SNS_NAME),
            id="untrusted-ca",
        ),
        pytest.param(
            lambda key: TRUSTED.issue(
                key,
                "sns",
                dns_names=SNS_NAME,
                not_valid_after=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1),
            ),
            id="expired",
        ),
    ],
)
def test_certificate_from_the_sns_url_that_is_not_trusted_now_is_refused(
    key: rsa.RSAPrivateKey, issued_by: Any
) -> None:
    # Given a correctly signed message whose certificate, served from SNS's URL, is
    # self-signed, from a CA nobody trusts, or expired
    fetcher = _Fetcher(_pem(issued_by(key)))
    carrier = _carrier(fetcher)
    message = _post(_sign(_fixture("sns_notification.json"), key))
    # When / Then it is refused each time, and the refused certificate is not kept
    assert not carrier.verify(message)
    assert not carrier.verify(message)
    assert fetcher.urls == [CERT_URL, CERT_URL]


@pytest.mark.parametrize(
    ("issuer_url", "verifies"),
    [
        ("http://crt.r2m01.amazontrust.com/r2m01.cer", True),
        ("http://crt.example.com/r2m01.cer", False),
    ],
)
def test_the_missing_intermediate_is_fetched_from_amazon_trust_services_only(
    issuer_url: str, verifies: bool
) -> None:
    # Given SNS's shape: a PEM holding only the leaf, issued by an intermediate that the
    # leaf's AIA names, below a trusted root
    root_key, intermediate_key, signing_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)
    )
    root = _ca(root_key, "Amazon Root CA 1")
    intermediate = _ca(intermediate_key, "Amazon RSA 2048 M01", (root, root_key))
    issuer = x509.AccessDescription(
        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(issuer_url)
    )
    leaf = _certificate(
        signing_key,
        SNS_NAME[0],
        (intermediate, intermediate_key),
        SNS_SAN,
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(intermediate_key.public_key()), False),
        (x509.AuthorityInformationAccess([issuer]), False),
    )
    served = {
        CERT_URL: _pem(leaf),
        issuer_url: intermediate.public_bytes(serialization.Encoding.DER),
    }
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return served[url]

    message = _post(_sign(_fixture("sns_notification.json"), signing_key))
    # When / Then it verifies only when the intermediate came from Amazon Trust Services
    assert _carrier(fetch, trust_store=lambda: Store([root])).verify(message) is verifies
    assert fetched == ([CERT_URL, issuer_url] if verifies else [CERT_URL])


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point REQUESTS_CA_BUNDLE at a file of the given CAs; the store is read afresh."""

    def use(*authorities: LocalAuthority) -> None:
        path = tmp_path / "bundle.pem"
        path.write_bytes(b"\n".join(a.pem for a in authorities))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
        trust_store.cache_clear()

    yield use
    trust_store.cache_clear()


def test_by_default_the_cas_are_those_requests_trusts(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher, bundle: Any
) -> None:
    message = _post(_sign(_fixture("sns_notification.json"), key))
    # Given REQUESTS_CA_BUNDLE without the certificate's CA: refused
    bundle(LocalAuthority("another CA"))
    assert not _carrier(fetcher, trust_store=None).verify(message)
    # With it (as the local stack adds its simulator's CA): verified
    bundle(LocalAuthority("another CA"), TRUSTED)
    assert _carrier(fetcher, trust_store=None).verify(message)


def test_failed_certificate_fetch_does_not_verify(key: rsa.RSAPrivateKey) -> None:
    def broken(_: str) -> bytes:
        raise OSError("connection refused")

    message = _sign(_fixture("sns_notification.json"), key)
    assert not _carrier(broken).verify(_post(message))
    assert not _carrier(lambda _: b"not a certificate").verify(_post(message))


@pytest.mark.parametrize(
    "request_",
    [
        CallbackRequest(method="GET", url=URL, headers={}),
        CallbackRequest(method="POST", url=URL, headers={}, body="not json"),
        CallbackRequest(method="POST", url=URL, headers={}, body="[]"),
    ],
)
def test_non_sns_bodies_do_not_verify(request_: CallbackRequest, fetcher: _Fetcher) -> None:
    assert not _carrier(fetcher).verify(request_)


# --- subscription confirmation -----------------------------------------------------------


def test_signed_subscription_confirmation_yields_its_subscribe_url(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher
) -> None:
    # Given the documented confirmation, signed with our key
    message = _sign(_fixture("sns_subscription_confirmation.json"), key, "1")
    carrier = _carrier(fetcher, topic_arns=[TOPIC])
    # When / Then it verifies and its SubscribeURL is returned to be confirmed
    assert carrier.verify(_post(message))
    assert carrier.is_subscription_confirmation(_post(message)) == message["SubscribeURL"]


def test_confirmation_with_foreign_subscribe_url_or_bad_signature_is_not_confirmed(
    key: rsa.RSAPrivateKey, fetcher: _Fetcher
) -> None:
    carrier = _carrier(fetcher)
    foreign = _fixture("sns_subscription_confirmation.json") | {
        "SubscribeURL": "https://evil.example.com/?Action=ConfirmSubscription"
    }
    assert carrier.is_subscription_confirmation(_post(_sign(foreign, key))) is None
    tampered = _sign(_fixture("sns_subscription_confirmation.json"), key) | {"Token": "x"}
    assert carrier.is_subscription_confirmation(_post(tampered)) is None
    notification = _sign(_fixture("sns_notification.json"), key)
    assert carrier.is_subscription_confirmation(_post(notification)) is None


# --- delivery events ---------------------------------------------------------------------


def _event(event_type: str, **changes: Any) -> dict[str, Any]:
    event = _fixture("sms_event.json") | {
        "eventType": event_type,
        "isFinal": event_type not in ("TEXT_QUEUED", "TEXT_PENDING", "TEXT_SENT"),
        "context": {"smsgw_sid": SID},
    }
    return event | changes


@pytest.mark.parametrize(("event_type", "status"), sorted(EVENT_STATUS.items()))
def test_event_type_maps_to_product_status(
    key: rsa.RSAPrivateKey, event_type: str, status: str
) -> None:
    request = _post(_notification(_event(event_type), key))
    receipt = _carrier().parse_receipt(request)
    expected = "delivered" if event_type == "TEXT_SUCCESSFUL" else status
    assert (receipt.status, receipt.carrier_sid, receipt.message_sid) == (
        expected,
        "862a8790-60c0-4430-9b2b-658bdexample",
        SID,
    )


def test_successful_but_not_final_is_sent_and_unknown_types_are_ignored(
    key: rsa.RSAPrivateKey,
) -> None:
    carrier = _carrier()
    interim = carrier.parse_receipt(
        _post(_notification(_event("TEXT_SUCCESSFUL", isFinal=False), key))
    )
    future = carrier.parse_receipt(_post(_notification(_event("TEXT_SOMETHING_NEW"), key)))
    assert (interim.status, future.status) == ("sent", IGNORED)


def test_documented_event_parses_and_failure_keeps_its_description(
    key: rsa.RSAPrivateKey,
) -> None:
    # Given the documented event (its context has no smsgw_sid)
    documented = _fixture("sms_event.json")
    receipt = _carrier().parse_receipt(_post(_notification(documented, key)))
    assert (receipt.status, receipt.message_sid, receipt.error_message) == (
        "delivered",
        None,
        None,
    )
    # and a failure carries End User Messaging's description
    blocked = _event(
        "TEXT_CARRIER_BLOCKED",
        messageStatus="CARRIER_BLOCKED",
        messageStatusDescription="Carrier has blocked the message",
    )
    receipt = _carrier().parse_receipt(_post(_notification(blocked, key)))
    assert (receipt.status, receipt.error_code, receipt.error_message) == (
        "undelivered",
        None,
        "Carrier has blocked the message",
    )


@pytest.mark.parametrize(
    "message",
    [
        {"Type": "SubscriptionConfirmation", "Message": "{}"},
        {"Type": "Notification", "Message": "not json"},
        {"Type": "Notification", "Message": "[1]"},
        {"Type": "Notification", "Message": json.dumps({"eventType": "TEXT_DELIVERED"})},
        {"Type": "Notification", "Message": json.dumps({"eventType": "VOICE_ANSWERED"})},
        {"Type": "Notification", "Message": json.dumps({"messageId": "m"})},
    ],
)
def test_malformed_event_is_rejected(message: dict[str, str]) -> None:
    with pytest.raises(CallbackRejectedError):
        _carrier().parse_receipt(_post(message))


# --- replies -----------------------------------------------------------------------------


def test_two_way_message_parses_into_reply(key: rsa.RSAPrivateKey, fetcher: _Fetcher) -> None:
    # Given the documented two-way payload, delivered through a signed SNS notification
    request = _post(_notification(_fixture("two_way_reply.json"), key))
    carrier = _carrier(fetcher)
    # When it is verified and parsed
    assert carrier.verify(request)
    reply = carrier.parse_reply(request)
    # Then responder, our number and the text are read
    assert (reply.carrier_sid, reply.responder, reply.number, reply.text) == (
        "cae173d2-66b9-564c-8309-21f858e9fb84",
        "+14255550182",
        "+12125550101",
        "EXAMPLE",
    )


def test_reply_without_sender_is_rejected(key: rsa.RSAPrivateKey) -> None:
    payload = _fixture("two_way_reply.json")
    del payload["originationNumber"]
    with pytest.raises(CallbackRejectedError):
        _carrier().parse_reply(_post(_notification(payload, key)))


# --- submit: SendTextMessage -------------------------------------------------------------


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "pinpoint-sms-voice-v2",
        region_name="us-west-2",
        # Nothing listens there: a request that escaped the stubs could not leave the machine.
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # As the factory must build it: botocore's retries could resend a timed-out message.
        config=Config(retries={"total_max_attempts": 1}),
    )


def _sms(sender: str = "+12065550152") -> OutboundSms:
    return OutboundSms(SID, sender, "+14255550156", "Your code is 1234", None)


def test_submit_sends_text_message_with_our_sid_in_context(client: Any) -> None:
    # Given End User Messaging accepts the exact request we expect
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "862a8790-60c0-4430-9b2b-658bdexample"},
            {
                "DestinationPhoneNumber": "+14255550156",
                "OriginationIdentity": "+12065550152",
                "MessageBody": "Your code is 1234",
                "MessageType": "TRANSACTIONAL",
                "ConfigurationSetName": "smsgw-events",
                "Context": {"smsgw_sid": SID},
            },
        )
        # When a message is submitted
        result = _carrier(client=client).submit(_sms())
        stub.assert_no_pending_responses()
    # Then End User Messaging's MessageId is the carrier sid
    assert (result.carrier_sid, result.carrier_status) == (
        "862a8790-60c0-4430-9b2b-658bdexample",
        "accepted",
    )


@pytest.mark.parametrize(("validity", "time_to_live"), [(600, 600), (2, 5), (36_000, 36_000)])
def test_the_validity_that_remains_goes_as_time_to_live_within_its_range(
    client: Any, validity: int, time_to_live: int
) -> None:
    # (botocore's Stubber checks the request against the service model: 5 s is its minimum)
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "m-1"},
            {
                "DestinationPhoneNumber": "+14255550156",
                "OriginationIdentity": "+12065550152",
                "MessageBody": "Your code is 1234",
                "MessageType": "TRANSACTIONAL",
                "ConfigurationSetName": "smsgw-events",
                "Context": {"smsgw_sid": SID},
                "TimeToLive": time_to_live,
            },
        )
        _carrier(client=client).submit(replace(_sms(), validity_seconds=validity))
        stub.assert_no_pending_responses()


def test_message_without_sender_uses_the_configured_identity(client: Any) -> None:
    carrier = EndUserMessagingCarrier(
        client, origination_identity="pool-0123456789abcdef", configuration_set=None
    )
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "m-1"},
            {
                "DestinationPhoneNumber": "+14255550156",
                "OriginationIdentity": "pool-0123456789abcdef",
                "MessageBody": "Your code is 1234",
                "MessageType": "TRANSACTIONAL",
                "Context": {"smsgw_sid": SID},
            },
        )
        assert carrier.submit(_sms(sender="")).carrier_sid == "m-1"


@pytest.mark.parametrize(
    ("code", "http_status", "reason", "permanent"),
    [
        ("ThrottlingException", 429, None, False),
        ("ServiceQuotaExceededException", 402, "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT", False),
        ("InternalServerException", 500, None, False),
        ("AccessDeniedException", 403, "ACCOUNT_DISABLED", False),
        ("ResourceNotFoundException", 404, None, False),
        # our credentials or signing, not the message: retried, never a failed message
        ("UnrecognizedClientException", 400, None, False),
        ("InvalidSignatureException", 403, None, False),
        ("ExpiredTokenException", 400, None, False),
        ("ValidationException", 400, "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY", True),
        ("ConflictException", 409, "DESTINATION_PHONE_NUMBER_OPTED_OUT", True),
        ("SomeNewClientException", 400, None, True),
        ("SomeNewServerException", 503, None, False),
    ],
)
def test_client_errors_are_classified(
    client: Any, code: str, http_status: int, reason: str | None, permanent: bool
) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_text_message",
            service_error_code=code,
            service_message="refused",
            http_status_code=http_status,
            modeled_fields={"Reason": reason} if reason else None,
        )
        with pytest.raises(CarrierError) as caught:
            _carrier(client=client).submit(_sms())
    assert caught.value.permanent is permanent
    assert caught.value.code == (f"{code}:{reason}" if reason else code)


def test_invalid_parameters_are_refused_before_sending(client: Any) -> None:
    # Given nothing may reach the network
    sent: list[Any] = []
    client.meta.events.register(
        "before-send.pinpoint-sms-voice-v2.SendTextMessage", lambda **kw: sent.append(kw)
    )
    # When an empty body (the API's minimum is one character) is submitted
    sms = OutboundSms(SID, "+12065550152", "+14255550156", "", None)
    with pytest.raises(CarrierError) as caught:
        _carrier(client=client).submit(sms)
    # Then botocore refused it before sending, and the message is at fault
    assert caught.value.permanent is True
    assert sent == []


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (
            EndpointConnectionError(endpoint_url="https://sms-voice.us-west-2.amazonaws.com"),
            "transient",
        ),
        (
            ConnectTimeoutError(endpoint_url="https://sms-voice.us-west-2.amazonaws.com"),
            "transient",
        ),
        (ReadTimeoutError(endpoint_url="https://sms-voice.us-west-2.amazonaws.com"), "unknown"),
        (
            ConnectionClosedError(endpoint_url="https://sms-voice.us-west-2.amazonaws.com"),
            "unknown",
        ),
    ],
)
def test_connection_failures_are_classified(client: Any, error: Exception, outcome: str) -> None:
    # Given the HTTP layer fails this way (raised where botocore sends the request)
    def fail(**_: Any) -> None:
        raise error

    client.meta.events.register("before-send.pinpoint-sms-voice-v2.SendTextMessage", fail)
    carrier = _carrier(client=client)
    # When / Then: never connected → retry is safe; maybe sent → outcome unknown
    if outcome == "transient":
        with pytest.raises(CarrierError) as caught:
            carrier.submit(_sms())
        assert caught.value.permanent is False
    else:
        with pytest.raises(OutcomeUnknownError):
            carrier.submit(_sms())


def test_answer_without_message_id_is_an_unknown_outcome() -> None:
    class _Client:
        def send_text_message(self, **_: Any) -> dict[str, Any]:
            return {}

    with pytest.raises(OutcomeUnknownError):
        _carrier(client=_Client()).submit(_sms())
