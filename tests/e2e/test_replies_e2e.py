"""Replies over the wire: a leased send, the simulator's signed reply, and its forwards
arriving by SMS (a second submission at the simulator), by e-mail (SES in the moto server)
and by webhook (the sink), each exactly once."""

import random
import time
import uuid

import pytest
import requests

from tests.support import wait_for

pytestmark = pytest.mark.e2e


def _number():
    return f"+6149157{random.randrange(10_000):04d}"


def test_a_reply_to_a_leased_number_is_forwarded_by_sms_email_and_webhook(local_stack):
    # Given a message sent from a lease with every response option
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    recipient, forward_to = _number(), _number()
    while forward_to == recipient:  # a forward to the recipient itself is a 400 (21604)
        forward_to = _number()
    mailbox = f"desk-{uuid.uuid4().hex[:8]}@shop.example"
    path = f"/e2e-replies/{uuid.uuid4().hex}"
    sms_url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"
    sent = requests.post(
        sms_url,
        json={
            "From": "",
            "To": recipient,
            "Text": "Can you make it on Friday?",
            "ForwardToSms": forward_to,
            "ForwardToEmail": mailbox,
            "WebhookUri": local_stack["WebhookSinkUrl"] + path,
            "WebhookMethod": "POST",
        },
        auth=auth,
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    message = sent.json()["Message"]
    leased = message["From"]
    assert leased.startswith("+614") and message["Lease"]["Number"] == leased

    # When the recipient replies to the leased number through the carrier simulator
    simulator = local_stack["SimulatorUrl"]
    answer = requests.post(
        f"{simulator}/_sim/replies",
        json={"from": recipient, "to": leased, "body": "Yes, see you then"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text

    # Then the SMS forward reaches the carrier, from the responder's number
    def sms_forwards():
        messages = requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"]
        return [m for m in messages if m["To"] == forward_to]

    # the e-mail goes out through SES
    def emails():
        data = requests.get(f"{local_stack['AwsEndpointUrl']}/moto-api/data.json", timeout=10)
        sent_mail = data.json().get("ses", {}).get("Message", [])
        return [m for m in sent_mail if mailbox in m["destinations"]["ToAddresses"]]

    # and the webhook arrives at the sink
    def hooks():
        sink = requests.get(f"{local_stack['WebhookSinkUrl']}/_sink/requests", timeout=10)
        return [r for r in sink.json()["requests"] if r["path"] == path]

    assert wait_for(lambda: sms_forwards() and emails() and hooks())
    time.sleep(1.0)  # a duplicate, if there were one, would have arrived by now
    [sms] = sms_forwards()
    [mail] = emails()
    [hook] = hooks()
    assert (sms["From"], sms["Body"]) == (recipient, "Yes, see you then")
    assert mail["subject"] == f"SMS reply from {recipient}" and "see you then" in mail["body"]
    payload = requests.models.complexjson.loads(hook["body"])
    assert (payload["MessageSid"], payload["From"], payload["To"]) == (
        message["MessageSid"],
        recipient,
        leased,
    )
    assert hook["headers"]["webhook-signature"].startswith("v1,")

    # And the reply is listed on the message
    listed = requests.get(f"{sms_url}/{message['MessageSid']}/Responses", auth=auth, timeout=10)
    assert [r["Text"] for r in listed.json()["Responses"]] == ["Yes, see you then"]


def test_a_forged_reply_is_rejected_over_the_wire(local_stack):
    url = local_stack["CarrierCallbackUrl"] + "/twilio/Responses"
    form = {"MessageSid": "SMforged", "From": "+61491570156", "To": "+61400000001", "Body": "STOP"}

    unsigned = requests.post(url, data=form, timeout=10)
    forged = requests.post(url, data=form, headers={"X-Twilio-Signature": "Zm9yZ2Vk"}, timeout=10)

    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert forged.json()["Error"]["Code"] == 24001


def test_sim_reply_command_delivers_a_reply(local_stack, capsys):
    from smsgw_tools.admin import cli

    # A reply to a number with no live lease is stored and acknowledged, never an error
    code = cli.main(
        [
            "local",
            "sim",
            "--url",
            local_stack["SimulatorUrl"],
            "reply",
            "--from",
            _number(),
            "--to",
            "+61400000004",
            "--body",
            "Hello?",
        ]
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert '"status": 200' in out and "Responses" in out
