"""The local stack over HTTP: API Gateway's behaviour, then one SMS from API to carrier, and
what the demo (`make demo`) shows of it."""

import json
import time

import pytest
import requests

from smsgw_tools.local.commands import run_demo

pytestmark = pytest.mark.e2e

SMS = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}


def _sms_url(info: dict) -> str:
    return f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"


def test_request_without_authorization_is_unauthorized(local_stack):
    # When the send call comes without an Authorization header
    response = requests.post(_sms_url(local_stack), json=SMS, timeout=10)

    # Then the gateway answers 401 itself, as API Gateway does
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_unknown_route_is_not_found(local_stack):
    # When a path no route matches is requested
    response = requests.get(f"{local_stack['ApiUrl']}/Nothing/Here", timeout=10)

    # Then the gateway answers 404
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_sent_sms_reaches_the_carrier(local_stack):
    # Given the demo property's credentials
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    simulator = local_stack["SimulatorUrl"]
    requests.post(f"{simulator}/_sim/reset", timeout=10)

    # When an SMS is sent through the public API
    response = requests.post(_sms_url(local_stack), json=SMS, auth=auth, timeout=30)

    # Then it is queued, the sender hands it to the carrier, and it becomes sent
    assert response.status_code == 200, response.text
    message = response.json()["Message"]
    assert message["Status"] == "queued"
    url = f"{_sms_url(local_stack)}/{message['MessageSid']}"
    deadline = time.monotonic() + 15
    # (the simulator's receipt makes it delivered ~0.2 s after it is sent)
    while message["Status"] not in ("sent", "delivered") and time.monotonic() < deadline:
        time.sleep(0.2)
        message = requests.get(url, auth=auth, timeout=10).json()["Message"]
    assert message["Status"] in ("sent", "delivered")
    submissions = requests.get(f"{simulator}/_sim/messages", timeout=10).json()
    submissions = (
        submissions.get("messages", submissions) if isinstance(submissions, dict) else submissions
    )
    assert [(s["To"], s["Body"]) for s in submissions] == [(SMS["To"], SMS["Text"])]


def test_the_demo_shows_json_as_the_api_returns_it_and_says_what_each_receipt_did(
    twilio_stack, local_stack, capsys
):
    # When the demo runs against the stack
    code = run_demo(local_stack, twilio_stack.session)
    output = capsys.readouterr().out

    # Then the message's GET is printed as the API answers it, {"Message": ...}
    assert code == 0
    get = output.split("\nGET ", 1)[1].split("\n\nStatus timeline:", 1)[0]
    assert json.loads(get.split("-> 200\n", 1)[1]).keys() == {"Message"}
    # and no Python repr of a dict, list or string appears anywhere
    assert "{'" not in output and "['" not in output and ": 'YES'" not in output
    # and Twilio's routine `sent` receipt, when the message was already sent, is not "late"
    timeline = output.split("Status timeline:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert any("carrier receipt delivered" in line for line in timeline), timeline
    duplicates = [line for line in timeline if line.split()[1:4] == ["sent", "carrier", "receipt"]]
    assert not [line for line in duplicates if "late" in line], timeline
