"""Replies on leased numbers under moto: the carrier's signed inbound SMS → webhooks →
stored with its forwards → the table's stream → notifier, which queues the forwards →
notifier → forwarded by SMS (sender → simulator), e-mail (SES) and webhook."""

import functools
import json

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from smsgw.errors import ErrorCode
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import sqs_records, twilio_receipt_event
from tests.unit.test_webhook_signing import documented_verifier

RESPONSES_URL = "https://api.example.com/v1/Carriers/twilio/Responses"
RECIPIENT = "+61488023555"
LEASED = "+61400000001"
FORWARD_TO = "+61499333222"
SIM_TOKEN = "simulator-token"


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"WebhookAllowedNetworks": "127.0.0.0/8"})


@pytest.fixture
def leased(api, admin, aws_session, sink):
    """A message sent from a lease with every response option."""
    aws_session.client("ses").verify_domain_identity(Domain="sms.example.com")
    admin.add_pool_number(LEASED, ["AU"])
    response = api.send(
        {
            "To": RECIPIENT,
            "Text": "Reply YES to confirm",
            "ForwardToSms": FORWARD_TO,
            "ForwardToEmail": "desk@shop.example",
            "WebhookUri": f"{sink.url}/replies",
        }
    )
    assert response.status == 200, response.body
    return response.body["Message"]


def inbound(body, *, sender=RECIPIENT, to=LEASED, sid="SMin0001", token=SIM_TOKEN, **kw):
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "simulator".ljust(32, "0"),
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    return twilio_receipt_event(RESPONSES_URL, form, token, **kw)


def callback_jobs(aws_session, stack):
    return sqs_records(
        aws_session.client("sqs"),
        stack.queue_url("CallbackQueue"),
        stack.queue_arn("CallbackQueue"),
    )


def forward_jobs_from_the_stream(table_stream, functions, aws_session, stack):
    """The notifier reads the table's stream (the stored replies' inserts, as Lambda hands
    them over) and queues their forwards; the CallbackQueue jobs it queued."""
    answer = table_stream.deliver(functions)
    assert answer in (None, {"batchItemFailures": []}), answer
    return callback_jobs(aws_session, stack)


def table_items(aws_session, stack, prefix):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return [i for i in table.scan()["Items"] if i["PK"].startswith(prefix)]


def test_a_reply_is_forwarded_once_by_sms_email_and_webhook(
    functions, simulator, aws_session, stack, leased, sink, tenant, api, monkeypatch, table_stream
):
    # When the recipient replies to the leased number (and the carrier retries the callback)
    first = functions.invoke("webhooks", inbound("YES please"))
    again = functions.invoke("webhooks", inbound("YES please"))

    # Then the carrier gets an empty TwiML answer both times; the reply is stored once, with
    # its forwards, and the webhooks function queues nothing: the reply's insert on the
    # table's stream is what calls for them
    assert (first["statusCode"], again["statusCode"]) == (200, 200)
    assert "<Response/>" in first["body"]
    [reply] = table_items(aws_session, stack, "LEASEREPLIES#")
    assert json.loads(reply["Forwards"])["ForwardToSms"] == FORWARD_TO
    assert callback_jobs(aws_session, stack) == []
    # and the stream hands the notifier that one insert, which queues the three forwards
    jobs = forward_jobs_from_the_stream(table_stream, functions, aws_session, stack)
    assert sorted(json.loads(j["body"])["Kind"] for j in jobs) == [
        "forward_email",
        "forward_sms",
        "reply",
    ]

    # When the notifier runs them, and the sender sends what it queued
    assert functions.invoke("notifier", {"Records": jobs}) == {"batchItemFailures": []}
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

    # Then the SMS forward went to the carrier once, from the responder's number
    forwards = [s for s in simulator.submissions() if s["To"] == FORWARD_TO]
    assert [(s["From"], s["Body"]) for s in forwards] == [(RECIPIENT, "YES please")]
    # the e-mail once, from the no-reply address
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert mail.source == "no-reply@sms.example.com"
    assert mail.destinations["ToAddresses"] == ["desk@shop.example"]
    assert mail.subject == f"SMS reply from {RECIPIENT}" and "YES please" in mail.body
    # and the webhook once (the carrier's retry queued nothing more), signed with the
    # property's secret
    [hook] = sink.requests()
    payload = json.loads(hook["body"])
    assert (payload["Event"], payload["Text"], payload["MessageSid"]) == (
        "reply",
        "YES please",
        leased["MessageSid"],
    )
    secret = functions_secret(aws_session, stack, tenant.property_sid)
    assert documented_verifier()(secret, hook["headers"], hook["body"])

    # And the reply is listed on the message
    listed = api.call(
        "GET", f"/v1/Properties/{tenant.property_sid}/Sms/{leased['MessageSid']}/Responses"
    )
    assert listed.status == 200
    assert [(r["From"], r["Text"]) for r in listed.body["Responses"]] == [(RECIPIENT, "YES please")]
    assert listed.body["Lease"]["Number"] == LEASED


def functions_secret(aws_session, stack, property_sid):
    from smsgw.dal.webhook_secrets import WebhookSecretStore

    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return WebhookSecretStore(table).entries(property_sid)[-1]["Secret"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"signed": False},
        {"token": "not-the-carrier-token"},
        {"signature_value": "bm90IGEgc2lnbmF0dXJl"},
    ],
)
def test_forged_or_unsigned_replies_are_rejected_and_change_nothing(
    functions, simulator, aws_session, stack, leased, kwargs
):
    result = functions.invoke("webhooks", inbound("STOP", **kwargs))

    assert result["statusCode"] == 403
    assert json.loads(result["body"])["Error"]["Code"] == (
        ErrorCode.CALLBACK_SIGNATURE_INVALID.number
    )
    assert callback_jobs(aws_session, stack) == []
    assert table_items(aws_session, stack, "LEASEREPLIES#") == []
    assert table_items(aws_session, stack, "OPTOUT#") == []


def test_a_signed_callback_that_is_not_an_inbound_message_is_a_400(
    functions, simulator, aws_session, stack
):
    event = twilio_receipt_event(RESPONSES_URL, {"Body": "no sid"}, "simulator-token")

    result = functions.invoke("webhooks", event)

    assert result["statusCode"] == 400
    assert json.loads(result["body"])["Error"]["Code"] == ErrorCode.REPLY_INVALID.number


def test_a_reply_without_a_live_lease_is_stored_and_acknowledged(
    functions, simulator, aws_session, stack, tenant, table_stream
):
    result = functions.invoke("webhooks", inbound("who is this?", to="+61400000999"))

    assert result["statusCode"] == 200
    [stored] = table_items(aws_session, stack, "LEASEREPLIES#UNMATCHED#+61400000999")
    assert stored["Text"] == "who is this?" and "ExpiresAt" in stored
    assert "Forwards" not in stored and table_stream.records() == []
    assert callback_jobs(aws_session, stack) == []


def test_stop_opts_the_recipient_out_of_the_account_until_start(
    functions, simulator, aws_session, stack, leased, api
):
    # When the recipient answers STOP (any case, trimmed)
    functions.invoke("webhooks", inbound("  stop "))

    # Then every later send to them from this account is refused, whatever the From
    for body in (
        {"To": RECIPIENT, "Text": "again"},
        {"From": "+61499009990", "To": RECIPIENT, "Text": "again"},
        {"From": "MyShop", "To": RECIPIENT, "Text": "again"},
    ):
        refused = api.send(body)
        assert refused.status == 400
        assert refused.body["Error"]["Code"] == ErrorCode.RECIPIENT_OPTED_OUT.number
    assert api.send({"From": "MyShop", "To": "+61488023556", "Text": "others"}).status == 200

    # When they answer START, they are opted back in
    functions.invoke("webhooks", inbound("Start", sid="SMin0002"))
    assert api.send({"From": "MyShop", "To": RECIPIENT, "Text": "welcome back"}).status == 200


def test_an_opted_out_recipient_is_refused_on_the_raw_queue_path_too(
    functions, simulator, aws_session, stack, leased, tenant
):
    functions.invoke("webhooks", inbound("UNSUBSCRIBE"))
    sqs = aws_session.client("sqs")
    queued_records(aws_session, stack)  # drain the leased message's job
    sqs.send_message(
        QueueUrl=stack.queue_url("SendQueue"),
        MessageBody=json.dumps(
            {"PropertySid": tenant.property_sid, "From": "Shop", "To": RECIPIENT, "Text": "x"}
        ),
    )

    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

    [rejected] = [
        i
        for i in table_items(aws_session, stack, "MESSAGE#")
        if i.get("Source") == "sqs" and i["Status"] == "rejected"
    ]
    assert int(rejected["ErrorCode"]) == ErrorCode.RECIPIENT_OPTED_OUT.number


def test_another_accounts_message_has_no_responses_to_show(
    functions, simulator, leased, admin, api, tenant
):
    from tests.integration.conftest import Api, Tenant

    other = admin.create_account("Other")
    prop = admin.create_property(other["AccountSid"], "Theirs")
    theirs = Api(functions, Tenant(other["AccountSid"], other["AuthToken"], prop["PropertySid"]))

    stolen = theirs.call(
        "GET", f"/v1/Properties/{tenant.property_sid}/Sms/{leased['MessageSid']}/Responses"
    )
    mismatched = theirs.call(
        "GET", f"/v1/Properties/{prop['PropertySid']}/Sms/{leased['MessageSid']}/Responses"
    )

    assert (stolen.status, mismatched.status) == (404, 404)
    assert mismatched.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_FOUND.number


def test_an_email_forward_ses_cannot_take_is_released_for_its_retry(
    functions, simulator, aws_session, stack, leased, monkeypatch, table_stream
):
    # Given SES throttling every send
    import boto3
    from botocore.stub import Stubber

    from smsgw.dal import email
    from smsgw.models.lease import FORWARD_EMAIL, job_kind

    ses = boto3.client("ses")
    stubber = Stubber(ses)
    for _ in range(3):  # the client's own attempts
        stubber.add_client_error("send_email", "Throttling", "Maximum sending rate exceeded.")
    stubber.activate()
    monkeypatch.setattr(email, "ses", functools.cache(lambda: ses))  # cleared, and the same
    functions.invoke("webhooks", inbound("YES please"))
    jobs = forward_jobs_from_the_stream(table_stream, functions, aws_session, stack)
    [job] = [j for j in jobs if job_kind(j["body"]) == FORWARD_EMAIL]

    # When the notifier runs the e-mail forward
    result = functions.invoke("notifier", {"Records": [job]})

    # Then the job fails, to be retried, and its claim is gone, so the retry sends it
    assert result == {"batchItemFailures": [{"itemIdentifier": job["messageId"]}]}
    assert table_items(aws_session, stack, "FORWARD#") == []


@pytest.mark.parametrize("target", [LEASED, "+61400000002", RECIPIENT])
def test_a_forward_to_a_pool_number_or_the_recipient_is_a_400_and_nothing_is_stored(
    api, admin, aws_session, stack, target
):
    # Given two pool numbers (a forward to either would come back as a reply)
    admin.add_pool_number(LEASED, ["AU"])
    admin.add_pool_number("+61400000002", ["AU"])

    # When a leased send asks for its replies to be forwarded there, or to its own recipient
    response = api.send({"To": RECIPIENT, "Text": "Reply YES", "ForwardToSms": target})

    # Then it is refused with its own code, and no message, lease or job exists
    assert response.status == 400, response.body
    assert response.body["Error"]["Code"] == ErrorCode.FORWARD_SMS_LOOP.number
    assert response.body["Error"]["Parameter"] == "ForwardToSms"
    assert table_items(aws_session, stack, "MESSAGE#") == []
    assert table_items(aws_session, stack, "LEASE") == []
    assert queued_records(aws_session, stack) == []


def test_an_sms_forward_arriving_on_a_leased_number_is_stored_but_not_forwarded_again(
    functions, simulator, aws_session, stack, admin, tenant, api, table_stream
):
    # Given a lease on N1 forwarding by SMS to N2, accepted before N2 joined the pool
    second_number, outside = "+61400000002", "+61499333444"
    admin.add_pool_number(LEASED, ["AU"])
    first = api.send({"To": RECIPIENT, "Text": "Reply YES", "ForwardToSms": second_number})
    assert first.status == 200, first.body
    # and another property's lease on N2 to the same recipient, forwarding elsewhere
    admin.add_pool_number(second_number, ["AU"])
    other = admin.create_property(tenant.account_sid, "Acme outlet")["PropertySid"]
    second = api.send(
        {"To": RECIPIENT, "Text": "Reply NO", "ForwardToSms": outside}, property_sid=other
    )
    assert second.status == 200 and second.body["Message"]["From"] == second_number
    queued_records(aws_session, stack)  # the two sends' jobs: not part of this test

    # When the recipient replies on N1, and the forward is made and sent (from their number)
    functions.invoke("webhooks", inbound("YES please"))
    jobs = forward_jobs_from_the_stream(table_stream, functions, aws_session, stack)
    functions.invoke("notifier", {"Records": jobs})
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    [forward] = [s for s in simulator.submissions() if s["To"] == second_number]
    assert forward["From"] == RECIPIENT

    # and that forward arrives on N2 as an inbound SMS
    echo = inbound(forward["Body"], sender=forward["From"], to=second_number, sid="SMin0002")
    assert functions.invoke("webhooks", echo)["statusCode"] == 200

    # Then it is stored on the second lease and nothing is forwarded again
    assert len(table_items(aws_session, stack, "LEASEREPLIES#")) == 2
    assert forward_jobs_from_the_stream(table_stream, functions, aws_session, stack) == []
