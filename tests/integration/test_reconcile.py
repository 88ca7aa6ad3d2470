"""Unknown-outcome reconciliation under moto, against the Twilio-format simulator: a message
left `sending` (outcome unknown, or a claim that never reached the carrier) is looked up at
the carrier after the grace period and never resent."""

import time

import pytest

from smsgw import explanations
from smsgw.logic.reconcile import GIVE_UP_SECONDS, GRACE_SECONDS
from smsgw.models.send_job import STALE_CLAIM_SECONDS
from tests.integration.conftest import queued_records
from tests.moto_snapshots import deploy_once
from tests.support import apply_environment, message_item

# Receipts the simulator sends go to a closed port: only reconciliation settles messages.
BASE = "http://127.0.0.1:9"


@pytest.fixture
def stack(aws_session):
    return deploy_once(aws_session, parameters={"PublicBaseUrl": BASE})


def send(api, functions, aws_session, stack, text):
    response = api.send({"From": "+61499009990", "To": "+61488023555", "Text": text})
    assert response.status == 200, response.body
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})
    return response.body["Message"]["MessageSid"]


def reconcile(functions, stack, now):
    """The scheduler function's reconciliation at `now` (its handler runs it after a tick)."""
    from smsgw import minute_tick as scheduler

    apply_environment(stack.function_environment("SchedulerFunction"))
    scheduler.reconciler.cache_clear()
    with functions.running("SchedulerFunction"):
        return scheduler.run_reconcile(now)


def test_an_unknown_outcome_the_carrier_holds_is_reconciled_to_sent(
    api, functions, simulator, aws_session, stack
):
    # Given a submission whose answer was lost (the carrier took it)
    simulator.set_fault("drop", count=1)
    sid = send(api, functions, aws_session, stack, "Lost answer")
    assert message_item(aws_session, stack, sid)["SubmitState"] == "unknown"
    assert message_item(aws_session, stack, sid)["GSI3PK"].startswith("UNSETTLED#")

    # When reconciliation runs inside the grace period, nothing happens
    assert reconcile(functions, stack, time.time()).found == 0

    # After it, the carrier's message is found by To, From and body
    result = reconcile(functions, stack, time.time() + GRACE_SECONDS + 1)

    assert result.found == 1
    stored = message_item(aws_session, stack, sid)
    [at_carrier] = simulator.submissions()
    assert (stored["Status"], stored["SubmitState"], stored["CarrierSid"]) == (
        "sent",
        "done",
        at_carrier["sid"],
    )
    assert "GSI3PK" not in stored
    assert stored["Events"][-1]["Detail"] == explanations.FOUND_BY_RECONCILIATION
    assert len(simulator.submissions()) == 1  # never resent


def test_a_claim_the_carrier_never_got_stays_sending_and_is_given_up_without_a_resend(
    api, functions, simulator, aws_session, stack
):
    # Given a message claimed by a sender that died before calling the carrier
    response = api.send({"From": "+61499009990", "To": "+61488023555", "Text": "Never left"})
    sid = response.body["Message"]["MessageSid"]
    from smsgw import services

    apply_environment(stack.function_environment("SenderFunction"))
    now = int(time.time())
    assert services.claims().claim(sid, {"Status": "sending"}, now, due_by=now + 1).claimed
    # (a claim alone is not indexed: reconciliation does not know of it yet)
    assert "GSI3PK" not in message_item(aws_session, stack, sid)
    assert reconcile(functions, stack, now + GRACE_SECONDS + 1).pending == 0

    # And its job comes back while the claim is fresh (a duplicate): left alone
    [job] = queued_records(aws_session, stack)
    assert functions.invoke("sender", {"Records": [job]}) == {"batchItemFailures": []}
    assert "GSI3PK" not in message_item(aws_session, stack, sid)

    # When the dead sender's job comes back after the claim went stale (SQS returns it after
    # the visibility timeout; here the claim is aged instead), it is indexed, not resent
    claimed_at = now - STALE_CLAIM_SECONDS - 1
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    table.update_item(
        Key={"PK": f"MESSAGE#{sid}", "SK": "MESSAGE"},
        UpdateExpression="SET ClaimedAt = :at",
        ExpressionAttributeValues={":at": claimed_at},
    )
    assert functions.invoke("sender", {"Records": [job]}) == {"batchItemFailures": []}
    assert message_item(aws_session, stack, sid)["GSI3SK"] == f"{claimed_at:012d}#{sid}"

    # Then reconciliation: not found, asked again later, then given up
    assert reconcile(functions, stack, claimed_at + GRACE_SECONDS + 1).pending == 1
    assert message_item(aws_session, stack, sid)["GSI3PK"].startswith("UNSETTLED#")
    assert reconcile(functions, stack, claimed_at + GIVE_UP_SECONDS + 1).given_up == 1

    stored = message_item(aws_session, stack, sid)
    assert (stored["Status"], stored["SubmitState"]) == ("sending", "claimed")
    assert "GSI3PK" not in stored
    assert stored["Events"][-1]["Detail"] == explanations.NOT_FOUND_BY_RECONCILIATION
    assert simulator.submissions() == []


def test_a_message_sent_normally_leaves_the_unsettled_index(
    api, functions, simulator, aws_session, stack
):
    sid = send(api, functions, aws_session, stack, "All fine")

    stored = message_item(aws_session, stack, sid)
    assert stored["Status"] == "sent" and "GSI3PK" not in stored
    assert reconcile(functions, stack, time.time() + GRACE_SECONDS + 1).found == 0
