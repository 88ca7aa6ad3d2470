"""Opt-out over the wire: a message scheduled before the recipient's STOP is not sent."""

import random
import time

import pytest
import requests

from tests.support import wait_for

pytestmark = pytest.mark.e2e

OPTED_OUT = 22003


def test_a_message_scheduled_before_the_recipients_stop_ends_failed_and_is_never_sent(
    local_stack,
):
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"
    simulator = local_stack["SimulatorUrl"]
    recipient = f"+6149158{random.randrange(10_000):04d}"

    def to_recipient():
        messages = requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"]
        return [m for m in messages if m["To"] == recipient]

    # Given a message from a lease, and one scheduled a few seconds ahead from an E.164 number
    first = requests.post(
        url, auth=auth, timeout=10, json={"From": "", "To": recipient, "Text": "Booked"}
    ).json()["Message"]
    scheduled = requests.post(
        url,
        auth=auth,
        timeout=10,
        json={
            "From": "+61499009990",
            "To": recipient,
            "Text": "See you tomorrow",
            "Schedule": int(time.time()) + 3,
        },
    ).json()["Message"]
    assert scheduled["Status"] == "scheduled"
    assert wait_for(to_recipient, seconds=10)

    # When the recipient replies STOP to the leased number before it is due
    answer = requests.post(
        f"{simulator}/_sim/replies",
        json={"from": recipient, "to": first["From"], "body": "STOP"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text

    # Then the scheduled message ends failed with 22003, and the carrier never gets it
    def final():
        message = requests.get(f"{url}/{scheduled['MessageSid']}", auth=auth, timeout=10).json()
        return message["Message"] if message["Message"]["Status"] == "failed" else None

    failed = wait_for(final, seconds=15)
    assert failed, "the scheduled message did not end failed"
    assert failed["ErrorCode"] == OPTED_OUT and failed["DateSent"] is None
    assert [m["Body"] for m in to_recipient()] == ["Booked"]
