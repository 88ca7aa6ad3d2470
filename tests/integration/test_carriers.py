"""Each carrier through the real handlers under moto: submit, receipt, reply, and a forged
callback rejected, with the deployment's `Carrier` parameter set to twilio, vonage or eum.

Twilio and Vonage submissions go over HTTP to their simulators; End User Messaging's
SendTextMessage goes to a botocore Stubber (the real client, so the request is checked
against the service model), and its SNS callbacks are signed with a test key whose
certificate, issued by a test CA the functions are told to trust, the adapter "fetches"
from an SNS URL.
"""

from __future__ import annotations

import base64
import datetime
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import Store

from smsgw.carriers import eum, sns_certificates, sns_messages
from smsgw.carriers.twilio import SIGNATURE_HEADER
from smsgw.carriers.twilio import signature as twilio_signature
from smsgw.dal.stream_records import job_for_record
from smsgw.errors import ErrorCode
from smsgw_tools.simulators.certificates import LocalAuthority
from smsgw_tools.simulators.server import CarrierSimulator
from smsgw_tools.simulators.vonage_wire import DEFAULT_SIGNATURE_SECRET, signed_callback
from tests.integration.conftest import invoke_sender_at, queued_records
from tests.moto_snapshots import deploy_once
from tests.support import message_item

BASE = "https://sms.example.com"
RECIPIENT = "+61488023555"
LEASED = "+61400000001"
TOPIC = "arn:aws:sns:us-east-1:123456789012:smsgw-eum-events"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"
SUBSCRIBE_URL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t0k"
CARRIERS = ("twilio", "vonage", "eum")


def http_event(method: str, url: str, body: str = "", headers: dict | None = None) -> dict:
    """An API Gateway HTTP API (v2) event of a carrier's request to `url`."""
    parts = urlsplit(url)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {"host": parts.netloc, **(headers or {})},
        "requestContext": {
            "domainName": parts.netloc,
            "http": {"method": method, "path": parts.path, "sourceIp": "203.0.113.9"},
            "requestId": "carrier-callback",
            "stage": "$default",
            "timeEpoch": int(now * 1000),
        },
        "pathParameters": {"Carrier": parts.path.split("/")[3]},
        "isBase64Encoded": False,
    }
    if body:
        event["body"] = body
    return event


# --- each carrier's side of the wire -----------------------------------------------------


class TwilioWire:
    name = "twilio"

    def __init__(self, session: Any, stack: Any) -> None:
        self.sim = CarrierSimulator().start()
        self.secret = {
            "AccountSid": self.sim.account_sid,
            "AuthToken": self.sim.auth_token,
            "BaseUrl": self.sim.url,
        }

    def stop(self) -> None:
        self.sim.stop()

    def submitted(self) -> list[dict[str, str]]:
        """(CarrierSid, From, To, Text) of every submission."""
        return [
            {"sid": s["sid"], "From": s["From"], "To": s["To"], "Text": s["Body"]}
            for s in self.sim.submissions()
        ]

    def receipt(self, submission: dict[str, str], message_sid: str, status: str) -> dict:
        url = f"{BASE}/v1/Carriers/twilio/Receipts?smsgw_sid={message_sid}"
        form = {"MessageSid": submission["sid"], "MessageStatus": status, "To": RECIPIENT}
        return self._signed(url, form)

    def reply(self, sender: str, number: str, text: str) -> dict:
        form = {"MessageSid": "SMin" + "0" * 30, "From": sender, "To": number, "Body": text}
        return self._signed(f"{BASE}/v1/Carriers/twilio/Responses", form)

    def forged(self, event: dict) -> dict:
        event["headers"][SIGNATURE_HEADER.lower()] = base64.b64encode(b"x" * 20).decode()
        return event

    def _signed(self, url: str, form: dict[str, str]) -> dict:
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER.lower(): twilio_signature(self.sim.auth_token, url, form.items()),
        }
        return http_event("POST", url, urlencode(form), headers)


def _forms(simulator: CarrierSimulator) -> list[dict[str, Any]]:
    """A Vonage-mode simulator's submissions as the forms sent, with their message ids."""
    return [s["form"] | {"message_ids": s["message_ids"]} for s in simulator.submissions()]


class VonageWire:
    """Receipts by GET (query parameters), replies by a JSON POST: both of Vonage's ways."""

    name = "vonage"

    def __init__(self, session: Any, stack: Any) -> None:
        self.sim = CarrierSimulator(carrier="vonage").start()
        self.secret = {
            "ApiKey": self.sim.state.vonage.api_key,
            "ApiSecret": self.sim.state.vonage.api_secret,
            "SignatureSecret": DEFAULT_SIGNATURE_SECRET,
            "SignatureMethod": "md5hash",
            "BaseUrl": self.sim.url,
        }

    def stop(self) -> None:
        self.sim.stop()

    def submitted(self) -> list[dict[str, str]]:
        return [
            {
                "sid": s["message_ids"][0],
                "From": "+" + s["from"] if s["from"].isdigit() else s["from"],
                "To": "+" + s["to"],
                "Text": s["text"],
                "client-ref": s["client-ref"],
                "callback": s.get("callback", ""),
            }
            for s in _forms(self.sim)
        ]

    def receipt(self, submission: dict[str, str], message_sid: str, status: str) -> dict:
        vonage_status = {"delivered": "delivered", "sent": "accepted"}.get(status, status)
        params = signed_callback(
            {
                "msisdn": RECIPIENT[1:],
                "to": submission["From"].lstrip("+"),
                "network-code": "50501",
                "messageId": submission["sid"],
                "price": "0.03330000",
                "status": vonage_status,
                "scts": "2601011200",
                "err-code": "0",
                "client-ref": submission["client-ref"],
                "message-timestamp": "2026-01-01 12:00:00",
                "api-key": self.sim.state.vonage.api_key,
            }
        )
        return http_event("GET", f"{submission['callback']}?{urlencode(params)}")

    def reply(self, sender: str, number: str, text: str) -> dict:
        params = signed_callback(
            {
                "msisdn": sender.lstrip("+"),
                "to": number.lstrip("+"),
                "messageId": "1600000012345678",
                "text": text,
                "type": "text",
                "keyword": text.split()[0].upper(),
                "api-key": self.sim.state.vonage.api_key,
                "message-timestamp": "2026-01-01 12:00:05",
            }
        )
        return http_event(
            "POST",
            f"{BASE}/v1/Carriers/vonage/Responses",
            json.dumps(params),
            {"content-type": "application/json"},
        )

    def forged(self, event: dict) -> dict:
        if event.get("body"):
            params = json.loads(event["body"]) | {"text": "STOP"}
            event["body"] = json.dumps(params)
        else:
            event["rawQueryString"] = event["rawQueryString"].replace("delivered", "rejected")
        return event


class EumWire:
    """SendTextMessage through a Stubber; SNS notifications signed with a test key."""

    name = "eum"

    def __init__(self, session: Any, stack: Any) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.authority = LocalAuthority()
        self.fetched: list[str] = []
        self.client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.sent: list[dict[str, Any]] = []
        self.secret = {
            "OriginationIdentity": "pool-0123456789abcdef",
            "ConfigurationSetName": "smsgw-events",
            "TopicArns": [TOPIC],
        }

    def install(self, monkeypatch: Any) -> None:
        self.certificate = self.issued_by(self.authority)

        def fetch(url: str) -> bytes:
            self.fetched.append(url)
            return self.certificate if url == CERT_URL else b"<ConfirmSubscriptionResponse/>"

        def sms_voice(read_timeout: float, endpoint_url: str | None = None) -> Any:
            return self.client

        sms_voice.cache_clear = lambda: None  # type: ignore[attr-defined]
        monkeypatch.setattr(sns_messages, "https_get", fetch)

        def trust_store() -> Store:
            return Store([self.authority.certificate])

        trust_store.cache_clear = lambda: None  # type: ignore[attr-defined]
        monkeypatch.setattr(sns_certificates, "trust_store", trust_store)
        monkeypatch.setattr(eum, "sms_voice", sms_voice)
        original = self.client.send_text_message

        def recording(**kwargs: Any) -> Any:
            self.sent.append(kwargs)
            return original(**kwargs)

        monkeypatch.setattr(self.client, "send_text_message", recording)

    def expect_send(self, message_id: str = "862a8790-60c0-4430-9b2b-658bdexample") -> None:
        self.stubber.add_response("send_text_message", {"MessageId": message_id})

    def stop(self) -> None:
        self.stubber.deactivate()

    def submitted(self) -> list[dict[str, str]]:
        return [
            {
                "sid": "862a8790-60c0-4430-9b2b-658bdexample",
                "From": s["OriginationIdentity"],
                "To": s["DestinationPhoneNumber"],
                "Text": s["MessageBody"],
                "smsgw_sid": s["Context"]["smsgw_sid"],
            }
            for s in self.sent
        ]

    def receipt(self, submission: dict[str, str], message_sid: str, status: str) -> dict:
        event_type = {"delivered": "TEXT_DELIVERED", "sent": "TEXT_SENT"}[status]
        event = {
            "eventType": event_type,
            "isFinal": status == "delivered",
            "messageId": submission["sid"],
            "destinationPhoneNumber": submission["To"],
            "originationPhoneNumber": submission["From"],
            "messageStatusDescription": "Message has been accepted by phone carrier",
            "context": {"smsgw_sid": submission["smsgw_sid"]},
        }
        return self._notification(f"{BASE}/v1/Carriers/eum/Receipts", event)

    def reply(self, sender: str, number: str, text: str) -> dict:
        event = {
            "originationNumber": sender,
            "destinationNumber": number,
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": text,
            "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
            "previousPublishedMessageId": "wJ0JCN4oRu4PR9jKFABCDGHIJK",
        }
        return self._notification(f"{BASE}/v1/Carriers/eum/Responses", event)

    def confirmation(self) -> dict:
        message = {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "t0k",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": SUBSCRIBE_URL,
            "Timestamp": "2026-01-01T12:00:00.000Z",
        }
        return self._post(f"{BASE}/v1/Carriers/eum/Receipts", self._sign(message))

    def forged(self, event: dict) -> dict:
        message = json.loads(event["body"])
        message["Message"] = message["Message"].replace("Yes", "STOP").replace("SENT", "FAIL")
        event["body"] = json.dumps(message | {"MessageId": "tampered"})
        return event

    def _notification(self, url: str, event: dict[str, Any]) -> dict:
        message = {
            "Type": "Notification",
            "MessageId": "da41e39f-ea4d-435a-b922-c6aae3915ebe",
            "TopicArn": TOPIC,
            "Message": json.dumps(event),
            "Timestamp": "2026-01-01T12:00:00.000Z",
        }
        return self._post(url, self._sign(message))

    def _sign(self, message: dict[str, Any]) -> dict[str, Any]:
        signed = message | {"SignatureVersion": "2", "SigningCertURL": CERT_URL}
        fields = sns_messages.SIGNED_FIELDS[signed["Type"]]
        raw = self.key.sign(
            sns_messages.string_to_sign(signed, fields), padding.PKCS1v15(), hashes.SHA256()
        )
        return signed | {"Signature": base64.b64encode(raw).decode()}

    @staticmethod
    def _post(url: str, message: dict[str, Any]) -> dict:
        headers = {
            "content-type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": message["Type"],
            "x-amz-sns-topic-arn": TOPIC,
        }
        return http_event("POST", url, json.dumps(message), headers)

    def issued_by(
        self, authority: LocalAuthority, not_valid_after: datetime.datetime | None = None
    ) -> bytes:
        """The signing certificate (PEM) SNS serves at CERT_URL, issued by `authority`."""
        name = "sns.amazonaws.com"
        certificate = authority.issue(
            self.key, name, dns_names=(name,), not_valid_after=not_valid_after
        )
        return certificate.public_bytes(serialization.Encoding.PEM)


WIRES = {"twilio": TwilioWire, "vonage": VonageWire, "eum": EumWire}


@pytest.fixture(params=CARRIERS)
def carrier_name(request) -> str:
    return request.param


@pytest.fixture
def stack(aws_session, carrier_name):
    return deploy_once(aws_session, parameters={"Carrier": carrier_name, "PublicBaseUrl": BASE})


@pytest.fixture
def wire(aws_session, stack, carrier_name, monkeypatch):
    carrier = WIRES[carrier_name](aws_session, stack)
    if isinstance(carrier, EumWire):
        carrier.install(monkeypatch)
    aws_session.client("secretsmanager").put_secret_value(
        SecretId=stack.parameters["CarrierSecretName"], SecretString=json.dumps(carrier.secret)
    )
    yield carrier
    carrier.stop()


def webhook(functions, event: dict) -> tuple[int, Any]:
    result = functions.invoke("webhooks", event)
    body = result.get("body") or ""
    try:
        return result["statusCode"], json.loads(body)
    except ValueError:
        return result["statusCode"], body


def send_leased(api, functions, admin, aws_session, stack, wire) -> tuple[str, dict[str, str]]:
    admin.add_pool_number(LEASED, ["AU"])
    if isinstance(wire, EumWire):
        wire.expect_send()
    response = api.send({"To": RECIPIENT, "Text": "Reply YES to confirm"})
    assert response.status == 200, response.body
    sid = response.body["Message"]["MessageSid"]
    result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    assert result == {"batchItemFailures": []}
    [submission] = wire.submitted()
    return sid, submission


# --- the tests ------------------------------------------------------------------------------


def test_each_carrier_submits_applies_its_receipt_and_stores_the_reply(
    api, functions, admin, aws_session, stack, wire, carrier_name, tenant
):
    # Given a deployment whose Carrier is this carrier, and a leased send
    sid, submission = send_leased(api, functions, admin, aws_session, stack, wire)

    # Then the carrier got it from the leased number, and the message is sent by it
    assert (submission["From"], submission["To"]) == (LEASED, RECIPIENT)
    item = message_item(aws_session, stack, sid)
    assert (item["Status"], item["Carrier"], item["CarrierSid"]) == (
        "sent",
        carrier_name,
        submission["sid"],
    )

    # When the carrier's signed receipt says delivered
    status, body = webhook(functions, wire.receipt(submission, sid, "delivered"))

    # Then it is delivered, with the carrier's own status word on the event
    assert (status, body) == (200, {"Receipt": "applied"})
    item = message_item(aws_session, stack, sid)
    assert item["Status"] == "delivered"
    raw = {"twilio": "delivered", "vonage": "delivered", "eum": "TEXT_DELIVERED"}[carrier_name]
    assert item["Events"][-1]["CarrierStatus"] == raw

    # When the recipient replies to the leased number
    status, _ = webhook(functions, wire.reply(RECIPIENT, LEASED, "Yes please"))

    # Then the reply is stored and listed on the message
    assert status == 200
    listed = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses")
    assert [(r["From"], r["To"], r["Text"]) for r in listed.body["Responses"]] == [
        (RECIPIENT, LEASED, "Yes please")
    ]


def test_each_carrier_rejects_forged_callbacks_and_stores_nothing(
    api, functions, admin, aws_session, stack, wire, tenant
):
    sid, submission = send_leased(api, functions, admin, aws_session, stack, wire)

    receipt = wire.forged(wire.receipt(submission, sid, "delivered"))
    reply = wire.forged(wire.reply(RECIPIENT, LEASED, "Yes please"))

    for event in (receipt, reply):
        status, body = webhook(functions, event)
        assert (status, body["Error"]["Code"]) == (
            403,
            ErrorCode.CALLBACK_SIGNATURE_INVALID.number,
        )
    assert message_item(aws_session, stack, sid)["Status"] == "sent"
    listed = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses")
    assert listed.body["Responses"] == []


@pytest.mark.parametrize("carrier_name", ["twilio"], indirect=True)
@pytest.mark.parametrize("other", ["vonage", "eum", "acme"])
def test_a_carrier_without_credentials_is_not_found(functions, wire, other):
    event = http_event("POST", f"{BASE}/v1/Carriers/{other}/Receipts", "status=delivered")

    status, body = webhook(functions, event)

    assert (status, body["Error"]["Code"]) == (404, ErrorCode.CARRIER_NOT_FOUND.number)


def test_each_carrier_is_given_the_validity_that_remains_in_its_own_field(
    api, functions, aws_session, stack, wire, carrier_name, monkeypatch
):
    # Given a message valid for 600 s, accepted now
    if isinstance(wire, EumWire):
        wire.expect_send()
    response = api.send(
        {"From": "+61499009990", "To": RECIPIENT, "Text": "Code 1234", "ValidityPeriod": 600}
    )
    assert response.status == 200, response.body
    sid = response.body["Message"]["MessageSid"]
    accepted_at = int(message_item(aws_session, stack, sid)["DeliverAt"])

    # When the sender submits it 100 s later
    records = queued_records(aws_session, stack)
    result = invoke_sender_at(functions, monkeypatch, accepted_at + 100, records)

    # Then the carrier gets the 500 s that remain, in its own field and unit
    assert result == {"batchItemFailures": []}
    if isinstance(wire, TwilioWire):
        assert wire.sim.submissions()[0]["ValidityPeriod"] == "500"  # seconds
    elif isinstance(wire, VonageWire):
        assert _forms(wire.sim)[0]["ttl"] == "500000"  # milliseconds
    else:
        assert wire.sent[0]["TimeToLive"] == 500  # seconds
    assert message_item(aws_session, stack, sid)["Status"] == "sent"


@pytest.mark.parametrize("carrier_name", ["twilio"], indirect=True)
def test_a_pool_number_of_another_carrier_sends_through_that_carrier(
    api, functions, admin, aws_session, stack, wire
):
    # Given a Twilio deployment whose secret also holds Vonage's keys, and a pool number
    # that belongs to Vonage
    with CarrierSimulator(carrier="vonage") as vonage_sim:
        vonage = {
            "ApiKey": vonage_sim.state.vonage.api_key,
            "ApiSecret": vonage_sim.state.vonage.api_secret,
            "SignatureSecret": DEFAULT_SIGNATURE_SECRET,
            "BaseUrl": vonage_sim.url,
        }
        aws_session.client("secretsmanager").put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"],
            SecretString=json.dumps(wire.secret | {"vonage": vonage}),
        )
        admin.add_pool_number(LEASED, ["AU"], carrier="vonage")

        # When a message leaves from a lease on it, and another from a fixed sender
        leased = api.send({"To": RECIPIENT, "Text": "From the Vonage number"})
        fixed = api.send({"From": "+61499009990", "To": RECIPIENT, "Text": "From Twilio"})
        assert (leased.status, fixed.status) == (200, 200)
        result = functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

        # Then the leased one went through Vonage (its receipt URL names vonage), the
        # other through the deployment's carrier
        assert result == {"batchItemFailures": []}
        [at_vonage] = _forms(vonage_sim)
        assert (at_vonage["from"], at_vonage["text"]) == (LEASED[1:], "From the Vonage number")
        assert at_vonage["callback"] == f"{BASE}/v1/Carriers/vonage/Receipts"
        assert [s["Text"] for s in wire.submitted()] == ["From Twilio"]
        sid = leased.body["Message"]["MessageSid"]
        assert message_item(aws_session, stack, sid)["Carrier"] == "vonage"


@pytest.mark.parametrize("carrier_name", ["eum"], indirect=True)
def test_sns_subscription_confirmation_is_verified_then_confirmed(functions, wire):
    # A genuine confirmation: verified, then its SubscribeURL is fetched
    status, body = webhook(functions, wire.confirmation())
    assert (status, body) == (200, {"Subscription": "confirmed"})
    assert wire.fetched[-1] == SUBSCRIBE_URL

    # A forged one (another SubscribeURL, signature no longer valid): refused, not fetched
    forged = wire.confirmation()
    message = json.loads(forged["body"]) | {"SubscribeURL": SUBSCRIBE_URL.replace("t0k", "evil")}
    forged["body"] = json.dumps(message)
    wire.fetched.clear()
    status, body = webhook(functions, forged)
    assert (status, body["Error"]["Code"]) == (403, ErrorCode.CALLBACK_SIGNATURE_INVALID.number)
    assert SUBSCRIBE_URL.replace("t0k", "evil") not in wire.fetched


@pytest.fixture
def seeded_secret(aws_session, stack) -> str:
    """The carrier secret as the template seeds it (read before `wire` replaces it)."""
    secrets = aws_session.client("secretsmanager")
    return secrets.get_secret_value(SecretId=stack.parameters["CarrierSecretName"])["SecretString"]


@pytest.mark.parametrize("carrier_name", ["eum"], indirect=True)
def test_with_the_seeded_secret_no_sns_topic_is_trusted(
    seeded_secret, api, functions, admin, aws_session, stack, wire
):
    # Given the secret as the template seeds it: no TopicArns
    assert json.loads(seeded_secret)["TopicArns"] == []
    aws_session.client("secretsmanager").put_secret_value(
        SecretId=stack.parameters["CarrierSecretName"], SecretString=seeded_secret
    )
    sid, submission = send_leased(api, functions, admin, aws_session, stack, wire)

    # When SNS messages arrive, validly signed, from a topic nobody configured
    for event in (wire.receipt(submission, sid, "delivered"), wire.confirmation()):
        status, body = webhook(functions, event)

        # Then each is refused: nothing stored, nothing confirmed, nothing fetched
        assert (status, body["Error"]["Code"]) == (
            403,
            ErrorCode.CALLBACK_SIGNATURE_INVALID.number,
        )
    assert message_item(aws_session, stack, sid)["Status"] == "sent"
    assert wire.fetched == []


@pytest.mark.parametrize("carrier_name", ["eum"], indirect=True)
@pytest.mark.parametrize(
    ("issuer", "hours_left"),
    [
        pytest.param(LocalAuthority("a CA nobody trusts"), 24, id="untrusted-ca"),
        pytest.param(None, -1, id="expired"),
    ],
)
def test_an_sns_certificate_not_trusted_now_is_refused_and_nothing_is_stored(
    api, functions, admin, aws_session, stack, wire, issuer, hours_left
):
    # Given a sent message, and SNS's URL serving a certificate from a CA the functions do
    # not trust, or an expired one, whose key signs the notification
    sid, submission = send_leased(api, functions, admin, aws_session, stack, wire)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours_left)
    wire.certificate = wire.issued_by(issuer or wire.authority, not_valid_after=until)

    # When its delivery event arrives
    status, body = webhook(functions, wire.receipt(submission, sid, "delivered"))

    # Then it is refused, and the message is unchanged
    assert (status, body["Error"]["Code"]) == (403, ErrorCode.CALLBACK_SIGNATURE_INVALID.number)
    assert message_item(aws_session, stack, sid)["Status"] == "sent"


@pytest.mark.parametrize("carrier_name", ["vonage"])
def test_every_part_of_a_long_vonage_message_is_matched_by_its_receipt(
    table_stream, api, functions, aws_session, stack, wire
):
    # Given a text Vonage sends as two parts, each with its own id and receipt
    response = api.send(
        {
            "From": "+61499009990",
            "To": RECIPIENT,
            "Text": "Your order has shipped. " * 8,  # 192 GSM-7 characters: two parts
            "DeliveryReceiptWebhookUri": "https://hooks.example.com/r",
        }
    )
    assert response.status == 200, response.body
    sid = response.body["Message"]["MessageSid"]
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    [form] = _forms(wire.sim)
    first, second = form["message_ids"]
    [submission] = wire.submitted()
    item = message_item(aws_session, stack, sid)
    assert (item["CarrierSid"], item["CarrierPartSids"]) == (first, [second])

    # When the second part's receipt comes first, then the first part's
    later = webhook(functions, wire.receipt(submission | {"sid": second}, sid, "delivered"))
    earlier = webhook(functions, wire.receipt(submission, sid, "delivered"))

    # Then both are the message's (none stored as unmatched), the first to arrive moved it,
    # and the customer gets one webhook
    assert (later, earlier) == (
        (200, {"Receipt": "applied"}),
        (200, {"Receipt": "recorded"}),
    )
    item = message_item(aws_session, stack, sid)
    assert item["Status"] == "delivered"
    assert [(e["CarrierSid"], e.get("Applied", True)) for e in item["Events"][-2:]] == [
        (second, True),
        (first, False),
    ]
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    assert not [i for i in table.scan()["Items"] if i["PK"].startswith("RECEIPT#")]
    jobs = [job_for_record(r) for r in table_stream.records()]
    assert [job.payload["Status"] for job in jobs if job] == ["delivered"]
