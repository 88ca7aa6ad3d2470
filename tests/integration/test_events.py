"""Every file in events/ goes through its function's handler (as `sam local invoke -e`)."""

import json

from smsgw.ids import MESSAGE_PREFIX, derived_sid
from tests.support import basic_auth, event


def retarget(document, tenant, message_sid="SM00000000000000000000000000000001"):
    """The sample events name a sample tenant; point them at the test's own."""
    text = json.dumps(document)
    text = text.replace("AC00000000000000000000000000000001", tenant.account_sid)
    text = text.replace("PR00000000000000000000000000000001", tenant.property_sid)
    text = text.replace("SM00000000000000000000000000000001", message_sid)
    sample_auth = basic_auth("AC00000000000000000000000000000001", "demo-auth-token")
    text = text.replace(sample_auth, tenant.authorization)
    return json.loads(text)


def test_authorizer_event_authenticates_the_account(functions, tenant):
    result = functions.invoke("authorizer", retarget(event("authorizer_request"), tenant))
    assert result == {
        "isAuthorized": True,
        "context": {"AccountSid": tenant.account_sid, "SmsEnabled": True},
    }


def test_api_events_send_get_and_list(functions, tenant):
    sent = functions.invoke("api", retarget(event("api_send"), tenant))
    assert sent["statusCode"] == 200
    sid = json.loads(sent["body"])["Message"]["MessageSid"]

    got = functions.invoke("api", retarget(event("api_get"), tenant, sid))
    listed = functions.invoke("api", retarget(event("api_list"), tenant))

    assert json.loads(got["body"])["Message"]["MessageSid"] == sid
    assert [m["MessageSid"] for m in json.loads(listed["body"])["Messages"]] == [sid]


def test_sqs_events_job_and_raw_send(functions, tenant, simulator):
    sent = functions.invoke("api", retarget(event("api_send"), tenant))
    sid = json.loads(sent["body"])["Message"]["MessageSid"]

    job = functions.invoke("sender", retarget(event("sqs_send_job"), tenant, sid))
    raw = functions.invoke("sender", retarget(event("sqs_raw_send"), tenant))

    assert job == raw == {"batchItemFailures": []}
    assert sorted(s["Body"] for s in simulator.submissions()) == [
        "You win again, gravity!",
        "Your parcel arrives today.",
    ]


def test_sqs_event_raw_send_with_a_validity_period(api, functions, tenant, simulator):
    # A one-time code published straight to SendQueue, valid for 300 s, smart-encoded
    raw = retarget(event("sqs_raw_send_validity"), tenant)

    assert functions.invoke("sender", raw) == {"batchItemFailures": []}

    [submission] = simulator.submissions()
    assert submission["Body"] == "Your sign-in code is 482913 - it expires in 5 minutes."
    assert 295 <= int(submission["ValidityPeriod"]) <= 300
    sid = derived_sid(MESSAGE_PREFIX, raw["Records"][0]["messageId"])
    sent = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}").body["Message"]
    assert (sent["Status"], sent["ValidityPeriod"], sent["Encoding"]) == ("sent", 300, "GSM-7")
