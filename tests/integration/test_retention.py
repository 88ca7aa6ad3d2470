"""Retention under moto: the scheduler removes a retaining property's message text once
its period has passed (the clock is advanced, never slept), and nothing else."""

import pytest

from smsgw.minute_tick import run_retention
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event

BASE = "http://127.0.0.1:9"
DAY = 86400
TEXT = "Your code is 482913"


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"PublicBaseUrl": BASE})


def get(api, tenant, sid):
    return api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}").body["Message"]


def delivered(api, functions, aws_session, stack, simulator):
    sid = api.send({"From": "+61499009990", "To": "+61488023555", "Text": TEXT})
    sid = sid.body["Message"]["MessageSid"]
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    submission = simulator.submissions()[-1]
    form = receipt_form(submission["sid"], "delivered")
    event = twilio_receipt_event(submission["StatusCallback"], form, simulator.auth_token)
    assert functions.invoke("webhooks", event)["statusCode"] == 200
    return sid


def test_text_is_removed_after_the_period_and_kept_before(
    api, admin, tenant, functions, aws_session, stack, simulator
):
    import time

    # Given a property that keeps text 2 days, a delivered message and a scheduled one
    admin.set_property_retention(tenant.property_sid, 2)
    sid = delivered(api, functions, aws_session, stack, simulator)
    later = api.send(
        {"From": "Shop", "To": "+61488023555", "Text": TEXT, "Schedule": int(time.time()) + 3600}
    ).body["Message"]["MessageSid"]
    now = time.time()

    # When the scheduler's retention pass runs a day later, then three days later
    early = run_retention(now + DAY)
    text_after_a_day = get(api, tenant, sid)["Text"]
    late = run_retention(now + 3 * DAY)
    again = run_retention(now + 3 * DAY + 60)

    # Then the text stays for the period, and goes after it, with an event; the status and
    # history stay
    assert (early.removed, text_after_a_day) == (0, TEXT)
    assert (late.properties, late.removed, again.removed) == (1, 1, 0)
    message = get(api, tenant, sid)
    assert (message["Text"], message["Redacted"], message["Status"]) == (None, True, "delivered")
    assert [e["Status"] for e in message["Events"]][:-1] == [
        "queued",
        "sending",
        "sent",
        "delivered",
    ]
    assert message["Events"][-1]["Source"] == "retention"
    # and a message still to be sent keeps its text
    assert get(api, tenant, later)["Text"] == TEXT


def test_a_property_that_keeps_text_is_left_alone(
    api, admin, tenant, functions, aws_session, stack, simulator
):
    import time

    sid = delivered(api, functions, aws_session, stack, simulator)
    admin.set_property_retention(tenant.property_sid, 1)
    admin.set_property_retention(tenant.property_sid, None)

    result = run_retention(time.time() + 400 * DAY)

    assert (result.properties, result.removed) == (0, 0)
    assert get(api, tenant, sid)["Text"] == TEXT


def test_a_sent_message_whose_text_retention_removed_still_gets_its_webhook(
    api, admin, tenant, functions, aws_session, stack, simulator, table_stream
):
    import time

    from smsgw.dal.stream_records import job_for_record

    # Given a retaining property's message, sent, with a receipt webhook, whose receipt
    # has not come when its text is removed (a write the notifier is not invoked for)
    admin.set_property_retention(tenant.property_sid, 1)
    sid = api.send(
        {
            "From": "+61499009990",
            "To": "+61488023555",
            "Text": TEXT,
            "DeliveryReceiptWebhookUri": "https://hooks.example.com/receipts",
        }
    ).body["Message"]["MessageSid"]
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    table_stream.records()
    assert run_retention(time.time() + 2 * DAY).removed == 1
    assert get(api, tenant, sid)["Status"] == "sent"
    assert table_stream.records() == []

    # When its receipt comes: delivered
    submission = simulator.submissions()[-1]
    form = receipt_form(submission["sid"], "delivered")
    event = twilio_receipt_event(submission["StatusCallback"], form, simulator.auth_token)
    assert functions.invoke("webhooks", event)["statusCode"] == 200

    # Then the status change still reaches the notifier, which calls the webhook
    [record] = table_stream.records()
    job = job_for_record(record)
    assert job is not None and (job.message_sid, job.payload["Status"]) == (sid, "delivered")


def test_a_deleting_property_loses_its_messages_replies_and_their_items_after_the_period(
    api, admin, tenant, functions, aws_session, stack, simulator, table_stream, monkeypatch
):
    import time
    import types

    from smsgw import minute_tick
    from smsgw.dal.callback_store import CallbackLog
    from smsgw.dal.receipt_store import ReceiptStore
    from smsgw.kernel.scheduling import bucket_of
    from tests.integration.test_redaction import LEASED, RECIPIENT, items, reply, submit
    from tests.support import event as sample_event

    # Given a property whose retention deletes messages after 2 days; a message sent on a
    # lease, delivered, with a reply, a webhook attempt and a carrier-id lookup; and a
    # message scheduled for later
    admin.set_property_retention(tenant.property_sid, 2, delete_messages=True)
    admin.add_pool_number(LEASED, ["AU"])
    sent = api.send(
        {
            "To": RECIPIENT,
            "Text": TEXT,
            "ForwardToEmail": "desk@shop.example",
            "DeliveryReceiptWebhookUri": "https://hooks.example.com/receipts",
        }
    )
    sid = sent.body["Message"]["MessageSid"]
    submission = submit(functions, aws_session, stack, simulator)
    form = receipt_form(submission["sid"], "delivered", to=RECIPIENT, sender=LEASED)
    event = twilio_receipt_event(submission["StatusCallback"], form, simulator.auth_token)
    assert functions.invoke("webhooks", event)["statusCode"] == 200
    reply(functions, simulator, "My address is 1 Long St", "SMin0001")
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    attempt = {"WebhookId": "wh_1", "Status": "delivered", "Attempt": 1, "Result": "ok"}
    CallbackLog(table).record_attempt(sid, {**attempt, "Timestamp": "2026-12-04T10:00:00Z"})
    ReceiptStore(table).remember_carrier_sid("twilio", submission["sid"], sid)
    later = api.send(
        {"From": "Shop", "To": "+61488023556", "Text": TEXT, "Schedule": int(time.time()) + 3600}
    ).body["Message"]["MessageSid"]
    table_stream.records()
    now = time.time()

    # When the scheduler's retention pass runs a day later, then the scheduler function's
    # tick three days later (its clock read then), then the pass again
    early = run_retention(now + DAY)
    kept = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}").status
    with monkeypatch.context() as patch:
        patch.setattr(minute_tick, "time", types.SimpleNamespace(time=lambda: now + 3 * DAY))
        # (its release of scheduled messages starts at that minute, not three days back)
        table.put_item(
            Item={"PK": "SCHEDULER", "SK": "CURSOR", "Bucket": bucket_of(int(now) + 3 * DAY)}
        )
        functions.invoke("scheduler", sample_event("scheduled_tick"))
    again = run_retention(now + 3 * DAY + 60)

    # Then the message stays for the period, and is gone after it: GET is a 404, the list
    # and its Responses no longer show it, once
    assert (early.deleted, kept) == (0, 200)
    assert (again.deleted, again.removed) == (0, 0)
    path = f"/v1/Properties/{tenant.property_sid}/Sms/{sid}"
    assert api.call("GET", path).status == 404
    assert api.call("GET", path + "/Responses").status == 404
    listed = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms").body["Messages"]
    assert [m["MessageSid"] for m in listed] == [later]
    # and no item of its own is left: its reply, webhook attempts, carrier-id lookup
    assert items(aws_session, stack, f"MESSAGE#{sid}") == []
    assert [r for r in items(aws_session, stack, "LEASEREPLIES#") if r["MessageSid"] == sid] == []
    assert items(aws_session, stack, f"CALLBACKS#{sid}") == []
    assert items(aws_session, stack, "CARRIERSID#") == []
    # and the deletes invoke no notifier
    assert table_stream.records() == []


@pytest.mark.parametrize("deletes", [False, True], ids=["text", "delete"])
def test_a_reply_arriving_after_its_messages_pass_goes_the_period_after_it_arrived(
    api, admin, tenant, functions, aws_session, stack, simulator, table_stream, deletes
):
    import time

    from tests.integration.test_redaction import LEASED, RECIPIENT, reply, submit

    # Given a property keeping text 2 days (or deleting messages then), and a message sent
    # on a lease, whose retention pass ran three days on
    admin.set_property_retention(tenant.property_sid, 2, delete_messages=deletes)
    admin.add_pool_number(LEASED, ["AU"])
    sent = api.send({"To": RECIPIENT, "Text": TEXT, "ForwardToEmail": "desk@shop.example"})
    sid = sent.body["Message"]["MessageSid"]
    submit(functions, aws_session, stack, simulator)
    now = time.time()
    passed = run_retention(now + 3 * DAY)
    table_stream.records()

    # When the recipient replies on the lease after that pass, through the webhooks
    # function; and the retention pass runs within two days of the reply, then after
    reply(functions, simulator, "My address is 1 Long St", "SMin0007")
    [inserted] = table_stream.records()
    received = time.time()
    within = run_retention(received + 2 * DAY - 60)
    responses = f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses"
    kept = api.call("GET", responses).body if not deletes else None
    after = run_retention(received + 2 * DAY + 60)

    # Then the reply was stored with its text and forwards for the notifier, kept for the
    # period from its own arrival, and its text removed (or the reply deleted) after it
    assert (passed.removed, passed.deleted) == ((0, 1) if deletes else (1, 0))
    image = inserted["dynamodb"]["NewImage"]
    assert image["Text"]["S"] == "My address is 1 Long St" and "Forwards" in image
    assert (within.late_replies, after.late_replies) == (0, 1)
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    stored = [i for i in table.scan()["Items"] if i["PK"].startswith("LEASEREPLIES#")]
    if deletes:
        assert stored == []
    else:
        assert [r["Text"] for r in kept["Responses"]] == ["My address is 1 Long St"]
        [left] = api.call("GET", responses).body["Responses"]
        assert (left["Text"], left["Redacted"]) == (None, True)
        assert [("Text" in r, r.get("GSI3PK")) for r in stored] == [(False, None)]


def test_a_property_created_with_a_period_is_one_the_pass_reads(aws_session, stack):
    from smsgw.dal.retention_store import RetentionStore
    from smsgw.dal.tenant_store import TenantStore
    from smsgw.models.tenant import Property, Retaining

    # Given properties stored with a period (one deleting messages) and one without
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    tenants = TenantStore(table)
    tenants.put_property(Property("PR1", "AC1", "Shop", True, retention_days=30))
    tenants.put_property(
        Property("PR2", "AC1", "Web", True, retention_days=7, retention_deletes_messages=True)
    )
    tenants.put_property(Property("PR3", "AC1", "Kept", True))

    # Then the retention pass lists the two with a period, as `set-retention` lists them
    assert sorted(RetentionStore(table).retaining()) == [
        Retaining("PR1", 30, "", False),
        Retaining("PR2", 7, "", True),
    ]
