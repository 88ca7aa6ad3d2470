"""The carrier callbacks answer what docs/openapi.json says they answer.

Each carrier's signed callbacks (receipts, replies, End User Messaging's SNS subscription
confirmations) and the refusals (forged, malformed, unknown carrier, SNS unreachable) go
through the real webhooks handler under moto; every answer's status and content type must
be declared for its path and method, a JSON body must validate against the declared schema
and an XML body must parse. One stack serves every carrier: the carrier secret holds each
one's keys under its name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest
from moto import mock_aws
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from smsgw.carriers import sns_messages
from smsgw.dal.message_store import MessageStore
from smsgw.ids import MESSAGE_PREFIX, new_sid
from smsgw.models.message import Message
from tests.integration.conftest import Functions
from tests.integration.test_carriers import (
    BASE,
    CARRIERS,
    LEASED,
    RECIPIENT,
    SUBSCRIBE_URL,
    TOPIC,
    WIRES,
    http_event,
)
from tests.moto_snapshots import deploy_once
from tests.support import ROOT, use_test_aws_environment

DOCUMENT_URI = "urn:smsgw:openapi"
DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())
REGISTRY = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)


@dataclass
class Answer:
    status: int
    content_type: str
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def xml(self) -> ElementTree.Element:
        return ElementTree.fromstring(self.body)  # noqa: S314  (our handler's own answer)


def documented(event: dict[str, Any], result: dict[str, Any]) -> Answer:
    """The handler's answer to `event`, checked against the document: the request's content
    type is declared for the route, and so are the answer's status and content type; its
    body is what that content declares."""
    path = "/v1/Carriers/{Carrier}/" + event["rawPath"].rsplit("/", 1)[1]
    method = event["requestContext"]["http"]["method"].lower()
    answer = Answer(
        result["statusCode"],
        (result.get("headers") or {}).get("Content-Type", ""),
        result.get("body") or "",
    )
    operation = DOCUMENT["paths"][path][method]
    sent_as = (event["headers"].get("content-type") or "").split(";")[0].strip()
    if method == "post" and sent_as:
        assert sent_as in operation["requestBody"]["content"], (path, sent_as)
    responses = operation["responses"]
    assert str(answer.status) in responses, (method, path, answer)
    content = responses[str(answer.status)].get("content") or {}
    media_type = answer.content_type.split(";")[0].strip()
    assert media_type in content, (method, path, answer, list(content))
    if media_type == "application/json":
        pointer = "/".join(
            part.replace("~", "~0").replace("/", "~1")
            for part in ("paths", path, method, "responses", str(answer.status), "content")
        )
        schema = {"$ref": f"{DOCUMENT_URI}#/{pointer}/application~1json/schema"}
        OAS31Validator(schema, registry=REGISTRY).validate(answer.json())
    else:
        assert media_type == "text/xml", (method, path, answer)
        answer.xml()
    return answer


@dataclass
class Webhooks:
    functions: Functions
    wires: dict[str, Any]
    messages: MessageStore

    def call(self, event: dict[str, Any]) -> Answer:
        return documented(event, self.functions.invoke("webhooks", event))

    def sent_message(self, carrier: str) -> dict[str, str]:
        """A message the carrier took (status sent), as the wire's receipts name it."""
        message_sid = new_sid(MESSAGE_PREFIX)
        self.messages.create(
            Message(
                message_sid=message_sid,
                account_sid=new_sid("AC"),
                property_sid=new_sid("PR"),
                sender=LEASED,
                sender_type="e164",
                to=RECIPIENT,
                text="Your code is 1234",
                status="sent",
                segments=1,
                encoding="GSM-7",
                date_created="2026-01-01T12:00:00.000Z",
            )
        )
        return submission(carrier, message_sid, f"{carrier}-{message_sid}")


def submission(carrier: str, message_sid: str, carrier_sid: str) -> dict[str, str]:
    """What each wire's `receipt` reads of a submission."""
    return {
        "sid": carrier_sid,
        "From": LEASED,
        "To": RECIPIENT,
        "client-ref": message_sid,
        "smsgw_sid": message_sid,
        "callback": f"{BASE}/v1/Carriers/{carrier}/Receipts",
    }


@pytest.fixture(scope="module")
def webhooks() -> Iterator[Webhooks]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        use_test_aws_environment(patch)
        session = boto3.session.Session(region_name="us-east-1")
        stack = deploy_once(session, parameters={"Carrier": "twilio", "PublicBaseUrl": BASE})
        wires = {name: WIRES[name](session, stack) for name in CARRIERS}
        wires["eum"].install(patch)
        secret = {name: wire.secret for name, wire in wires.items()}
        # Only the topic the notifications are signed for verifies.
        secret["eum"] = secret["eum"] | {"TopicArns": [TOPIC]}
        session.client("secretsmanager").put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"], SecretString=json.dumps(secret)
        )
        functions = Functions(stack)
        table = session.resource("dynamodb").Table(stack.physical_ids["Table"])
        try:
            yield Webhooks(functions, wires, MessageStore(table))
        finally:
            functions.restore()
            for wire in wires.values():
                wire.stop()


@pytest.mark.parametrize("carrier", CARRIERS)
def test_receipts_are_answered_as_documented(webhooks: Webhooks, carrier: str) -> None:
    wire = webhooks.wires[carrier]
    sent = webhooks.sent_message(carrier)
    unknown = submission(carrier, new_sid(MESSAGE_PREFIX), "unknown-carrier-sid")

    # When the carrier reports the message delivered, twice, and a message nobody sent
    first = webhooks.call(wire.receipt(sent, sent["smsgw_sid"], "delivered"))
    again = webhooks.call(wire.receipt(sent, sent["smsgw_sid"], "delivered"))
    stray = webhooks.call(wire.receipt(unknown, unknown["smsgw_sid"], "delivered"))

    # Then each is a documented 200 saying what happened
    assert [(a.status, a.json()) for a in (first, again, stray)] == [
        (200, {"Receipt": "applied"}),
        (200, {"Receipt": "recorded"}),
        (200, {"Receipt": "unmatched"}),
    ]


@pytest.mark.parametrize(("carrier", "status"), [("twilio", "queued"), ("vonage", "buffered")])
def test_intermediate_receipt_is_answered_as_documented(
    webhooks: Webhooks, carrier: str, status: str
) -> None:
    sent = webhooks.sent_message(carrier)

    answer = webhooks.call(webhooks.wires[carrier].receipt(sent, sent["smsgw_sid"], status))

    assert (answer.status, answer.json()) == (200, {"Receipt": "ignored"})


@pytest.mark.parametrize("carrier", CARRIERS)
def test_replies_are_answered_as_documented(webhooks: Webhooks, carrier: str) -> None:
    wire = webhooks.wires[carrier]

    # When a reply comes in on a number without a live lease, and the carrier retries it
    first = webhooks.call(wire.reply(RECIPIENT, LEASED, "Yes please"))
    retried = webhooks.call(wire.reply(RECIPIENT, LEASED, "Yes please"))

    # Then both are acknowledged: Twilio with empty TwiML, the others in JSON
    assert (first.status, retried.status) == (200, 200)
    if carrier == "twilio":
        assert first.content_type == retried.content_type == "text/xml"
        assert first.xml().tag == "Response"
    else:
        assert (first.json(), retried.json()) == ({"Reply": "unmatched"}, {"Reply": "duplicate"})


@pytest.mark.parametrize("kind", ["Receipts", "Responses"])
def test_sns_subscription_confirmation_is_answered_as_documented(
    webhooks: Webhooks, kind: str
) -> None:
    event = on_path(webhooks.wires["eum"].confirmation(), kind)

    answer = webhooks.call(event)

    assert (answer.status, answer.json()) == (200, {"Subscription": "confirmed"})


def test_sns_unreachable_for_a_confirmation_is_a_documented_500(
    webhooks: Webhooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = sns_messages.https_get

    def unreachable(url: str) -> bytes:
        if url == SUBSCRIBE_URL:
            raise ConnectionError("sns unreachable")
        return certificate(url)

    monkeypatch.setattr(sns_messages, "https_get", unreachable)

    answer = webhooks.call(webhooks.wires["eum"].confirmation())

    assert (answer.status, answer.json()["Error"]["Code"]) == (500, 29001)


@pytest.mark.parametrize("carrier", CARRIERS)
def test_forged_callbacks_are_a_documented_403(webhooks: Webhooks, carrier: str) -> None:
    wire = webhooks.wires[carrier]
    sent = webhooks.sent_message(carrier)
    receipt = wire.forged(wire.receipt(sent, sent["smsgw_sid"], "delivered"))
    reply = wire.forged(wire.reply(RECIPIENT, LEASED, "Yes please"))

    answers = [webhooks.call(event) for event in (receipt, reply)]

    assert [(a.status, a.json()["Error"]["Code"]) for a in answers] == [(403, 24001)] * 2


@pytest.mark.parametrize("carrier", CARRIERS)
def test_signed_malformed_callbacks_are_a_documented_400(webhooks: Webhooks, carrier: str) -> None:
    wire = webhooks.wires[carrier]
    # A receipt without the carrier's message id, a reply without its sender
    nameless = submission(carrier, new_sid(MESSAGE_PREFIX), "")
    receipt = wire.receipt(nameless, nameless["smsgw_sid"], "delivered")
    reply = wire.reply("", LEASED, "Yes please")

    answers = [webhooks.call(event) for event in (receipt, reply)]

    assert [(a.status, a.json()["Error"]["Code"]) for a in answers] == [(400, 24002), (400, 24004)]


@pytest.mark.parametrize("kind", ["Receipts", "Responses"])
def test_undecodable_body_is_a_documented_400(webhooks: Webhooks, kind: str) -> None:
    event = http_event("POST", f"{BASE}/v1/Carriers/twilio/{kind}", "%%% not base64 %%%")
    event["isBase64Encoded"] = True

    answer = webhooks.call(event)

    assert (answer.status, answer.json()["Error"]["Code"]) == (400, 24002)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", ["Receipts", "Responses"])
def test_unknown_carrier_is_a_documented_404(webhooks: Webhooks, method: str, kind: str) -> None:
    event = http_event(method, f"{BASE}/v1/Carriers/acme/{kind}", "status=delivered")

    answer = webhooks.call(event)

    assert (answer.status, answer.json()["Error"]["Code"]) == (404, 24003)


def on_path(event: dict[str, Any], kind: str) -> dict[str, Any]:
    """`event` sent to the `kind` callback path instead (SNS does not sign the URL)."""
    path = event["rawPath"].rsplit("/", 1)[0] + f"/{kind}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    return event
