"""AWS End User Messaging over the wire, against the carrier simulator playing it.

The stack runs with `Carrier=eum`: the sender calls SendTextMessage through boto3 on the
simulator, and delivery events and replies reach the webhooks function as SNS notifications
signed by the simulator's SNS, whose certificate the adapter fetches, unchanged, from
`https://sns.<region>.amazonaws.com/...pem` (the workers resolve that name to the
simulator's HTTPS server and trust its CA). First the adapter alone against the simulator
(real botocore, the simulator's faults); then the stack: the subscriptions confirmed, a send
delivered and its webhook, a reply stored and forwarded, and forgeries that change nothing.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa

from smsgw.carriers.eum import EndUserMessagingCarrier
from smsgw.models.carrier import CarrierError, OutboundSms, OutcomeUnknownError
from smsgw_tools.local.stack import LocalStack
from smsgw_tools.simulators.eum_wire import sms_event, two_way_message
from smsgw_tools.simulators.server import CarrierSimulator
from smsgw_tools.simulators.sns_messages import sign
from tests.support import ROOT, stack_admin, wait_for
from tests.unit.test_webhook_signing import documented_verifier

pytestmark = pytest.mark.e2e

FIXTURES = ROOT / "tests" / "fixtures" / "eum"
SID = "SM" + "e" * 32
READ_TIMEOUT = 0.3


def _number() -> str:
    return f"+6149159{random.randrange(10_000):04d}"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


# --- the adapter against the simulator --------------------------------------------------


@pytest.fixture(scope="module")
def simulator() -> Iterator[CarrierSimulator]:
    with CarrierSimulator(carrier="eum", timeout_seconds=1.0) as sim:
        yield sim


@pytest.fixture
def carrier(simulator: CarrierSimulator) -> EndUserMessagingCarrier:
    simulator.reset()
    client = boto3.client(
        "pinpoint-sms-voice-v2",
        region_name=simulator.state.eum.region,
        endpoint_url=simulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=READ_TIMEOUT),
    )
    return EndUserMessagingCarrier(
        client,
        origination_identity=simulator.state.eum.origination_identity,
        configuration_set=simulator.state.eum.configuration_set,
    )


def _sms(to: str = "+61491590001", sender: str = "+61400000001") -> OutboundSms:
    return OutboundSms(message_sid=SID, sender=sender, to=to, text="Your code is 1234")


def test_send_text_message_is_held_once_with_our_sid_in_its_context(simulator, carrier):
    result = carrier.submit(_sms())

    [held] = simulator.submissions()
    assert result.carrier_sid == held["sid"]
    assert (held["From"], held["To"], held["Body"], held["outcome"]) == (
        "+61400000001",
        "+61491590001",
        "Your code is 1234",
        "accepted",
    )
    assert held["Context"] == {"smsgw_sid": SID}
    assert held["ConfigurationSetName"] == "smsgw-events"
    assert held["request"]["MessageType"] == "TRANSACTIONAL"


@pytest.mark.parametrize(
    ("mode", "expected", "code", "recorded"),
    [
        ("429", CarrierError, "ThrottlingException", []),
        ("5xx", CarrierError, "InternalServerException", []),
        ("timeout", OutcomeUnknownError, None, ["unknown"]),
        ("drop", OutcomeUnknownError, None, ["unknown"]),
    ],
)
def test_the_simulator_faults_reach_the_adapter_as_botocore_errors(
    simulator, carrier, mode, expected, code, recorded
):
    # Given the next submission fails the way `mode` says
    simulator.set_fault(mode, 1)

    # Then the adapter raises what the sender acts on (retry, or never resend)
    with pytest.raises(expected) as caught:
        carrier.submit(_sms())
    if code is not None:
        assert (caught.value.permanent, caught.value.code) == (False, code)
    assert [s["outcome"] for s in simulator.submissions()] == recorded
    # and the fault was for one submission only
    carrier.submit(_sms())


def test_the_opted_out_fault_is_a_conflict_about_the_message_that_does_not_fail_over(
    simulator, carrier
):
    # Given the next submission's recipient has opted out at the carrier
    simulator.set_fault("opted-out", 1)

    # Then the adapter raises a permanent refusal of the message itself
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms())
    assert caught.value.code == "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT"
    assert (caught.value.permanent, caught.value.fails_over) == (True, False)
    assert simulator.submissions() == []


def test_latency_and_a_fault_for_one_recipient_apply_to_send_text_message(simulator, carrier):
    simulator.set_latency(0.2)
    simulator.set_fault("5xx", to="+61491590009")

    started = time.monotonic()
    carrier.submit(_sms())
    assert time.monotonic() - started >= 0.2
    with pytest.raises(CarrierError):
        carrier.submit(_sms(to="+61491590009"))
    assert [s["To"] for s in simulator.submissions()] == ["+61491590001"]


def test_the_validity_that_remains_goes_as_time_to_live_and_is_recorded(simulator, carrier):
    carrier.submit(replace(_sms(), validity_seconds=600))

    [held] = simulator.submissions()
    assert held["TimeToLive"] == held["request"]["TimeToLive"] == 600


@pytest.mark.parametrize("time_to_live", [4, 259_201])
def test_the_simulator_refuses_a_time_to_live_end_user_messaging_would(simulator, time_to_live):
    simulator.reset()
    # a client that sends what botocore would refuse before sending
    client = boto3.client(
        "pinpoint-sms-voice-v2",
        region_name=simulator.state.eum.region,
        endpoint_url=simulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )

    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.send_text_message(
            DestinationPhoneNumber="+61491590001", MessageBody="Hi", TimeToLive=time_to_live
        )

    assert caught.value.response["Fields"] == [
        {"Name": "timeToLive", "Message": "must be an integer from 5 to 259200"}
    ]
    assert simulator.submissions() == []


def test_a_malformed_number_is_a_permanent_validation_exception(simulator, carrier):
    with pytest.raises(CarrierError) as caught:
        carrier.submit(_sms(to="0491590001"))

    assert caught.value.permanent
    assert caught.value.code == "ValidationException:FIELD_VALIDATION_FAILED"
    assert simulator.submissions() == []


def test_the_simulator_speaks_the_documented_shapes(simulator):
    sns = simulator.sns
    submission = {
        "sid": str(uuid.uuid4()),
        "From": "+61400000001",
        "To": "+61491590001",
        "Body": "Hi",
        "Context": {"smsgw_sid": SID},
        "received_at": "2026-01-01T00:00:00+00:00",
    }
    event = sms_event(submission, "delivered")
    topic = sns.account.events_topic
    notification = sns.notification(topic, json.dumps(event))

    assert set(event) == set(_fixture("sms_event.json"))
    assert set(two_way_message("+61491590001", "+61400000001", "YES")) == set(
        _fixture("two_way_reply.json")
    )
    # End User Messaging publishes without a Subject
    assert set(notification) == set(_fixture("sns_notification.json")) - {"Subject"}
    assert (notification["SignatureVersion"], notification["TopicArn"]) == ("2", topic)
    assert notification["SigningCertURL"].startswith(f"https://{sns.account.sns_host}/")


# --- the stack ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(eum_stack: LocalStack) -> LocalStack:
    return eum_stack


@pytest.fixture(scope="module")
def info(stack: LocalStack) -> dict[str, Any]:
    return stack.info()


def _sms_url(info: dict[str, Any]) -> str:
    return f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"


def _auth(info: dict[str, Any]) -> tuple[str, str]:
    return info["AccountSid"], info["AuthToken"]


def _submissions(info: dict[str, Any], to: str) -> list[dict[str, Any]]:
    found = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
    return [m for m in found["messages"] if m["To"] == to]


def _sink(info: dict[str, Any], path: str) -> list[dict[str, Any]]:
    sink = requests.get(f"{info['WebhookSinkUrl']}/_sink/requests", timeout=10).json()
    return [r for r in sink["requests"] if r["path"] == path]


def _message(info: dict[str, Any], sid: str) -> dict[str, Any]:
    return requests.get(f"{_sms_url(info)}/{sid}", auth=_auth(info), timeout=10).json()["Message"]


def _sns_state(info: dict[str, Any]) -> dict[str, Any]:
    return requests.get(f"{info['SimulatorUrl']}/_sim/sns", timeout=10).json()


def test_both_subscriptions_were_confirmed_through_the_sns_host_name(info):
    state = _sns_state(info)
    subscriptions = {s["endpoint"]: s for s in state["subscriptions"]}
    base = f"{info['CarrierCallbackUrl']}/eum"

    # The events topic feeds Receipts and the two-way topic Responses, both confirmed
    assert {url: s["topic_arn"] for url, s in subscriptions.items()} == {
        f"{base}/Receipts": state["topics"]["events"],
        f"{base}/Responses": state["topics"]["replies"],
    }
    for subscription in subscriptions.values():
        assert subscription["confirmed"], subscription["confirmation"]
        assert subscription["confirmation"]["status"] == 200
        assert json.loads(subscription["confirmation"]["answer"]) == {"Subscription": "confirmed"}
    # by the webhooks function GETting each SubscribeURL, through SNS's own host name
    host = f"sns.{info['Region']}.amazonaws.com"
    assert {s["confirmed_through"] for s in subscriptions.values()} == {host}


def test_a_send_is_one_send_text_message_and_its_signed_event_delivers_it(info):
    # Given a message with a receipt webhook
    path = f"/e2e-eum/{uuid.uuid4().hex}"
    recipient = _number()
    sent = requests.post(
        _sms_url(info),
        json={
            "To": recipient,
            "Text": "Delivered through End User Messaging?",
            "ExternalId": "e2e-eum",
            "DeliveryReceiptWebhookUri": info["WebhookSinkUrl"] + path,
        },
        auth=_auth(info),
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    message = sent.json()["Message"]
    sid = message["MessageSid"]

    # Then End User Messaging received exactly one SendTextMessage, our sid in its Context
    assert wait_for(lambda: _submissions(info, recipient))
    time.sleep(0.5)  # a duplicate, if there were one, would have arrived by now
    [held] = _submissions(info, recipient)
    assert held["Context"] == {"smsgw_sid": sid}
    assert (held["OriginationIdentity"], held["ConfigurationSetName"]) == (
        message["From"],
        "smsgw-events",
    )

    # And its signed delivery event made the message delivered
    delivered = wait_for(lambda: (m := _message(info, sid))["Status"] == "delivered" and m)
    assert delivered, _message(info, sid)
    assert delivered["Events"][-1]["CarrierStatus"] == "TEXT_DELIVERED"

    # And the customer's final receipt webhook arrived, signed with the property's secret
    def final_hooks():
        hooks = [(h, json.loads(h["body"])) for h in _sink(info, path)]
        return [(h, p) for h, p in hooks if p["IsFinal"]]

    assert wait_for(final_hooks)
    time.sleep(0.5)
    [(hook, payload)] = final_hooks()
    assert (payload["MessageSid"], payload["Status"], payload["ExternalId"]) == (
        sid,
        "delivered",
        "e2e-eum",
    )
    admin = stack_admin(info)
    secret = admin.webhook_secret(info["PropertySid"])["WebhookSecret"]
    assert documented_verifier()(secret, hook["headers"], hook["body"])


def test_a_reply_to_a_leased_number_is_stored_and_forwarded(info):
    # Given a message from a lease that forwards replies by SMS and webhook
    recipient, forward_to = _number(), _number()
    while forward_to == recipient:  # a forward to the recipient itself is a 400 (21604)
        forward_to = _number()
    path = f"/e2e-eum-replies/{uuid.uuid4().hex}"
    sent = requests.post(
        _sms_url(info),
        json={
            "From": "",
            "To": recipient,
            "Text": "Still on for Friday?",
            "ForwardToSms": forward_to,
            "WebhookUri": info["WebhookSinkUrl"] + path,
            "WebhookMethod": "POST",
        },
        auth=_auth(info),
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    message = sent.json()["Message"]
    leased = message["From"]
    assert wait_for(lambda: _submissions(info, recipient))

    # When the recipient replies: the two-way channel publishes it, SNS delivers it signed
    answer = requests.post(
        f"{info['SimulatorUrl']}/_sim/replies",
        json={"from": recipient, "to": leased, "body": "Yes, Friday"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
    assert answer.json()["url"] == f"{info['CarrierCallbackUrl']}/eum/Responses"

    # Then it is forwarded by SMS (a SendTextMessage from the responder) and by webhook
    assert wait_for(lambda: _submissions(info, forward_to) and _sink(info, path))
    time.sleep(0.5)
    [forward] = _submissions(info, forward_to)
    [hook] = _sink(info, path)
    assert (forward["From"], forward["Body"]) == (recipient, "Yes, Friday")
    assert (json.loads(hook["body"])["MessageSid"], json.loads(hook["body"])["From"]) == (
        message["MessageSid"],
        recipient,
    )

    # And it is stored on the message
    listed = requests.get(
        f"{_sms_url(info)}/{message['MessageSid']}/Responses", auth=_auth(info), timeout=10
    ).json()
    assert [(r["From"], r["Text"]) for r in listed["Responses"]] == [(recipient, "Yes, Friday")]


def _post_sns(info: dict[str, Any], kind: str, message: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{info['CarrierCallbackUrl']}/eum/{kind}",
        data=json.dumps(message),
        headers={"x-amz-sns-message-type": message["Type"], "content-type": "text/plain"},
        timeout=10,
    )


def _held_at_sent(info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A message End User Messaging took, its `sent` event delivered, whose final event
    will not come during the session (its recipient's outcome is an hour away)."""
    recipient = _number()
    requests.post(
        f"{info['SimulatorUrl']}/_sim/outcomes",
        json={"to": recipient, "status": "delivered", "delay": 3600},
        timeout=10,
    ).raise_for_status()
    sent = requests.post(
        _sms_url(info), json={"To": recipient, "Text": "Forge me"}, auth=_auth(info), timeout=30
    )
    assert sent.status_code == 200, sent.text
    sid = sent.json()["Message"]["MessageSid"]
    assert wait_for(lambda: _submissions(info, recipient))
    [held] = _submissions(info, recipient)

    def sent_event_delivered() -> bool:
        receipts = requests.get(f"{info['SimulatorUrl']}/_sim/receipts", timeout=10).json()
        return any(
            r["form"]["messageId"] == held["sid"] and r.get("status") == 200
            for r in receipts["receipts"]
        )

    assert wait_for(sent_event_delivered)
    assert wait_for(lambda: _message(info, sid)["Status"] == "sent")
    return sid, held


def test_forged_sns_notifications_change_nothing(stack, info):
    sns = stack.simulator.sns
    sid, held = _held_at_sent(info)
    before = _message(info, sid)
    delivered = json.dumps(sms_event(held, "delivered"))
    genuine = sns.notification(sns.account.events_topic, delivered)
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetched_before = len(sns.requests())
    host, port = sns.address
    cert_path = urlsplit(genuine["SigningCertURL"]).path

    forgeries = {
        # signed by a key that is not SNS's, naming SNS's certificate
        "foreign key": genuine | {"Signature": sign(genuine, foreign_key)},
        # signed with SNS's key, the event altered afterwards
        "tampered": genuine | {"Message": delivered.replace("TEXT_DELIVERED", "TEXT_INVALID")},
        # validly signed, but the certificate named on a host that is not SNS's (it is
        # served there, over TLS the workers trust: only the host check refuses it)
        "certificate off SNS": sns.signed(genuine, cert_url=f"https://{host}:{port}{cert_path}"),
        # validly signed, from a topic that is not ours
        "other topic": sns.signed(genuine | {"TopicArn": f"{sns.account.events_topic}-other"}),
    }
    for name, forged in forgeries.items():
        response = _post_sns(info, "Receipts", forged)
        assert response.status_code == 403, (name, response.text)
        assert response.json()["Error"]["Code"] == 24001

    # Nothing moved, and no certificate was fetched from anywhere but SNS's host name
    after = _message(info, sid)
    assert (after["Status"], after["Events"]) == ("sent", before["Events"])
    assert all(r["host"] == sns.account.sns_host for r in sns.requests()[fetched_before:])

    # While the genuine notification does deliver it (so the forgeries were not refused
    # for some other reason)
    assert _post_sns(info, "Receipts", genuine).status_code == 200
    assert _message(info, sid)["Status"] == "delivered"


def test_a_forged_subscription_confirmation_confirms_nothing(stack, info):
    sns = stack.simulator.sns
    host, port = sns.address
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = uuid.uuid4().hex
    confirmation = _fixture("sns_subscription_confirmation.json") | {
        "TopicArn": sns.account.events_topic,
        "Token": token,
        "SubscribeURL": (
            f"https://{sns.account.sns_host}/?Action=ConfirmSubscription"
            f"&TopicArn={sns.account.events_topic}&Token={token}"
        ),
    }
    off_sns = confirmation | {"SubscribeURL": f"https://{host}:{port}/?Action=ConfirmSubscription"}
    fetched_before = len(sns.requests())

    # Signed by a foreign key: refused, nothing fetched
    signed = sns.signed(confirmation)
    forged = signed | {"Signature": sign(signed, foreign_key)}
    response = _post_sns(info, "Receipts", forged)
    assert response.status_code == 403, response.text
    # Validly signed, but its SubscribeURL off SNS's host: not confirmed (it is no
    # delivery event either)
    response = _post_sns(info, "Receipts", sns.signed(off_sns))
    assert response.status_code in (400, 403), response.text
    assert "Subscription" not in response.json()

    confirms = [
        r
        for r in sns.requests()[fetched_before:]
        if r["query"].get("Action") == "ConfirmSubscription"
    ]
    assert confirms == []
