"""events/carrier_reply.json and events/api_responses.json go through their handlers (as
`sam local invoke -e`). The reply sample is a Twilio inbound message signed with the
simulator's AuthToken (`simulator-token`) for the Responses URL in the event."""

import json
import time

import pytest

from tests.integration.test_events import retarget
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import sqs_records
from tests.support import event


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})


def test_carrier_reply_and_api_responses_events(
    functions, tenant, simulator, admin, api, aws_session, stack, table_stream
):
    # Given a message the sample's recipient got from the sample's leased number
    admin.add_pool_number("+61400000001", ["AU"])
    sent = api.send(
        {
            "To": "+61488023555",
            "Text": "Reply YES to confirm",
            "WebhookUri": "https://hooks.example.com/smsgw/replies",
        }
    )
    message_sid = sent.body["Message"]["MessageSid"]
    assert sent.body["Message"]["From"] == "+61400000001"

    # When the sample reply is invoked (received now: the signature does not cover the time)
    reply = event("carrier_reply")
    reply["requestContext"]["timeEpoch"] = int(time.time() * 1000) + 1000
    result = functions.invoke("webhooks", reply)

    # Then it is acknowledged, and the notifier, reading the stored reply on the table's
    # stream, queues its webhook job
    assert result["statusCode"] == 200
    assert table_stream.deliver(functions) == {"batchItemFailures": []}
    jobs = sqs_records(
        aws_session.client("sqs"),
        stack.queue_url("CallbackQueue"),
        stack.queue_arn("CallbackQueue"),
    )
    [job] = [json.loads(j["body"]) for j in jobs]
    assert (job["Kind"], job["Payload"]["Text"]) == ("reply", "YES")

    # And the sample GET lists it on the message
    listed = functions.invoke("api", retarget(event("api_responses"), tenant, message_sid))
    body = json.loads(listed["body"])
    assert listed["statusCode"] == 200
    assert [(r["From"], r["To"], r["Text"]) for r in body["Responses"]] == [
        ("+61488023555", "+61400000001", "YES")
    ]
