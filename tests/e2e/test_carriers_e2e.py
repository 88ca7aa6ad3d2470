"""One send → receipt → reply over the wire per carrier the local simulator speaks.

Twilio runs on the session's stack; Vonage gets its own stack (`LocalStack(carrier=
"vonage")`: the template parameter `Carrier=vonage`, Vonage keys in the carrier secret, the
simulator answering `POST /sms/json`, sending signed DLRs by GET and replies as signed JSON);
End User Messaging runs on the session's eum stack (`SendTextMessage` through boto3, events
and replies as signed SNS notifications whose certificate the webhooks function fetches from
`sns.<region>.amazonaws.com`; tests/e2e/test_eum_e2e.py has the rest).
"""

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from smsgw_tools.local.stack import LocalStack
from tests.support import ROOT, wait_for

pytestmark = pytest.mark.e2e


FIXTURES = ROOT / "tests" / "fixtures" / "eum"


@pytest.fixture(scope="module", params=["twilio", "vonage", "eum"])
def carrier_stack(request) -> Iterator[dict[str, Any]]:
    if request.param == "twilio":
        yield request.getfixturevalue("local_stack")
        return
    if request.param == "eum":
        yield request.getfixturevalue("eum_stack").info()
        return
    with LocalStack(port=0, carrier=request.param) as stack:
        stack.provision_demo()
        yield stack.info()


def test_send_receipt_and_reply_over_the_wire(carrier_stack):
    info = carrier_stack
    carrier = info["Carrier"]
    auth = (info["AccountSid"], info["AuthToken"])
    sms_url = f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"
    recipient = f"+6149158{random.randrange(10_000):04d}"

    # Given a message sent from a leased number through this carrier, valid for 600 s
    body = {"To": recipient, "Text": f"Hello via {carrier}", "ValidityPeriod": 600}
    sent = requests.post(sms_url, json=body, auth=auth, timeout=30)
    assert sent.status_code == 200, sent.text
    message = sent.json()["Message"]
    sid, leased = message["MessageSid"], message["From"]

    # Then the carrier (the simulator, in this carrier's format) has it from the lease
    def submission():
        found = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
        return [m for m in found["messages"] if m["To"] == recipient]

    [at_carrier] = wait_for(submission)
    assert (at_carrier["From"], at_carrier["Body"]) == (leased, f"Hello via {carrier}")
    # with the validity that remained, in the carrier's own field and unit
    validity = {
        "twilio": lambda: int(at_carrier["ValidityPeriod"]),
        "vonage": lambda: int(at_carrier["form"]["ttl"]) // 1000,
        "eum": lambda: at_carrier["TimeToLive"],
    }[carrier]()
    assert 570 <= validity <= 600

    # And its signed receipts make the message delivered, the carrier's word recorded
    def delivered():
        got = requests.get(f"{sms_url}/{sid}", auth=auth, timeout=10).json()["Message"]
        return got if got["Status"] == "delivered" else None

    got = wait_for(delivered)
    assert got, requests.get(f"{sms_url}/{sid}", auth=auth, timeout=10).text
    assert got["Events"][-1]["Status"] == "delivered"

    # When the recipient replies to the leased number
    answer = requests.post(
        f"{info['SimulatorUrl']}/_sim/replies",
        json={"from": recipient, "to": leased, "body": "Thanks!"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text

    # Then it is listed on the message
    listed = requests.get(f"{sms_url}/{sid}/Responses", auth=auth, timeout=10).json()
    assert [(r["From"], r["Text"]) for r in listed["Responses"]] == [(recipient, "Thanks!")]


def _forged_sns_notification(info: dict[str, Any]) -> dict[str, Any]:
    """The documented SNS notification carrying the documented SMS event, on our topic and
    naming our certificate, with a signature nobody made."""
    notification = json.loads((FIXTURES / "sns_notification.json").read_text())
    notification.pop("Subject")
    return notification | {
        "TopicArn": info["Sns"]["Topics"][0],
        "Message": (FIXTURES / "sms_event.json").read_text(),
        "SignatureVersion": "2",
        "Signature": "Zm9yZ2Vk" * 43,
        "SigningCertURL": info["Sns"]["SigningCertUrl"],
    }


def _send_forged(carrier: str, info: dict[str, Any]) -> requests.Response:
    """A delivery receipt in the carrier's format, signed by nobody, sent as it sends them."""
    url = f"{info['CarrierCallbackUrl']}/{carrier}/Receipts"
    if carrier == "eum":
        headers = {"x-amz-sns-message-type": "Notification", "content-type": "text/plain"}
        body = json.dumps(_forged_sns_notification(info))
        return requests.post(url, data=body, headers=headers, timeout=10)
    forged = {
        "twilio": {"MessageSid": "SMforged", "MessageStatus": "delivered"},
        "vonage": {
            "messageId": "0A0000000123ABCD",
            "status": "delivered",
            "timestamp": str(int(time.time())),
            "sig": "0" * 32,
        },
    }[carrier]
    return requests.get(url, params=forged, timeout=10)


def test_forged_callback_is_rejected_over_the_wire(carrier_stack):
    response = _send_forged(carrier_stack["Carrier"], carrier_stack)

    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == 24001
