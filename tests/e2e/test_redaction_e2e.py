"""Redaction over the wire: a delivered message's text removed through the local stack's
API gateway, once; another account cannot."""

import pytest
import requests

from tests.support import stack_admin, wait_for

pytestmark = pytest.mark.e2e


def test_a_delivered_message_is_redacted_once_and_not_by_another_account(local_stack):
    # Given a message the simulator's receipts make delivered
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    sms_url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"
    body = {"From": "+61499009990", "To": "+61488023555", "Text": "Your code is 482913"}
    response = requests.post(sms_url, json=body, auth=auth, timeout=30)
    assert response.status_code == 200, response.text
    sid = response.json()["Message"]["MessageSid"]

    def message():
        return requests.get(f"{sms_url}/{sid}", auth=auth, timeout=10).json()["Message"]

    assert wait_for(lambda: message()["Status"] == "delivered"), message()
    admin = stack_admin(local_stack)
    rival = admin.create_account("Rival redaction e2e")

    # When another account tries, then the owner redacts it twice
    stolen = requests.post(
        f"{sms_url}/{sid}/Redact", auth=(rival["AccountSid"], rival["AuthToken"]), timeout=30
    )
    kept = message()
    first = requests.post(f"{sms_url}/{sid}/Redact", auth=auth, timeout=30)
    second = requests.post(f"{sms_url}/{sid}/Redact", auth=auth, timeout=30)

    # Then the rival learns nothing and changes nothing; the owner's text is gone, once
    assert stolen.status_code == 404 and kept["Text"] == body["Text"]
    assert (first.status_code, second.status_code) == (200, 200), first.text
    assert first.json() == second.json()
    redacted = message()
    assert (redacted["Text"], redacted["Redacted"], redacted["Status"]) == (
        None,
        True,
        "delivered",
    )
    assert redacted["Events"][-1]["Source"] == "redaction"
