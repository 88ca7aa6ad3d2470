"""Delivery receipts over the wire: simulator receipt → webhooks → notifier → webhook sink."""

import time
import uuid

import pytest
import requests

from tests.support import stack_admin, wait_for
from tests.unit.test_webhook_signing import documented_verifier

pytestmark = pytest.mark.e2e


def test_delivered_sms_calls_the_customer_webhook_once_per_status_change(local_stack):
    # Given the demo property and a webhook URI on the local sink
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    path = f"/e2e/{uuid.uuid4().hex}"
    body = {
        "From": "+61499009990",
        "To": "+61488023555",
        "Text": "Did it arrive?",
        "ExternalId": "e2e-receipt",
        "DeliveryReceiptWebhookUri": local_stack["WebhookSinkUrl"] + path,
    }
    sms_url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"

    # When it is sent through the public API
    response = requests.post(sms_url, json=body, auth=auth, timeout=30)
    assert response.status_code == 200, response.text
    sid = response.json()["Message"]["MessageSid"]

    # Then the simulator's signed receipts make it delivered
    def message():
        return requests.get(f"{sms_url}/{sid}", auth=auth, timeout=10).json()["Message"]

    delivered = wait_for(lambda: (m := message())["Status"] == "delivered" and m)
    assert delivered, message()
    # (the carrier's own `sent` receipt usually comes after the sender's: recorded only)
    events = delivered["Events"]
    assert [e["Status"] for e in events if e.get("Applied", True)] == [
        "queued",
        "sending",
        "sent",
        "delivered",
    ]
    late = [e.get("CarrierStatus") for e in events if e.get("Applied") is False]
    assert late in ([], ["sent"])  # [] if the receipt beat the sender to recording `sent`

    # And the sink holds exactly one callback, the delivery receipt, signed with the
    # property's secret
    def callbacks():
        sink = requests.get(f"{local_stack['WebhookSinkUrl']}/_sink/requests", timeout=10)
        found = [r for r in sink.json()["requests"] if r["path"] == path]
        return found or None

    received = wait_for(callbacks)
    time.sleep(0.5)  # a duplicate, if there were one, would have arrived by now
    received = callbacks()
    assert received is not None and len(received) == 1
    admin = stack_admin(local_stack)
    secret = admin.webhook_secret(local_stack["PropertySid"])["WebhookSecret"]
    verify = documented_verifier()
    statuses = []
    for request in received:
        assert verify(secret, request["headers"], request["body"])
        payload = requests.models.complexjson.loads(request["body"])
        assert (payload["MessageSid"], payload["ExternalId"]) == (sid, "e2e-receipt")
        statuses.append((payload["Status"], payload["IsFinal"]))
    assert statuses == [("delivered", True)]
