"""Scheduled sends over the wire: on time to within 2 s, and a cancelled one never leaves."""

import time
from datetime import datetime

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_scheduled_sms_reaches_the_carrier_on_time_and_a_cancelled_one_never(local_stack):
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"
    simulator = local_stack["SimulatorUrl"]
    requests.post(f"{simulator}/_sim/reset", timeout=10)
    due = int(time.time()) + 4

    kept = requests.post(
        url,
        auth=auth,
        timeout=10,
        json={"From": "+61499009990", "To": "+61488023501", "Text": "On time", "Schedule": due},
    ).json()["Message"]
    dropped = requests.post(
        url,
        auth=auth,
        timeout=10,
        json={"From": "+61499009990", "To": "+61488023502", "Text": "Never", "Schedule": due},
    ).json()["Message"]
    cancel = requests.delete(f"{url}/{dropped['MessageSid']}", auth=auth, timeout=10)

    assert (kept["Status"], dropped["Status"], cancel.status_code) == (
        "scheduled",
        "scheduled",
        200,
    )
    deadline = time.monotonic() + 12
    submissions = []
    while time.monotonic() < deadline:
        submissions = requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"]
        if submissions:
            break
        time.sleep(0.1)
    time.sleep(2)  # give a wrongly released cancelled message the chance to show up
    submissions = requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"]

    assert [s["To"] for s in submissions] == ["+61488023501"]
    arrived = datetime.fromisoformat(submissions[0]["received_at"]).timestamp()
    assert due <= arrived + 0.05 and arrived - due <= 2.0
    final = requests.get(f"{url}/{dropped['MessageSid']}", auth=auth, timeout=10).json()
    assert final["Message"]["Status"] == "cancelled"
