"""What the sender, the API and reconciliation rely on from MessageStore/ClaimStore."""

from __future__ import annotations

import pytest

from smsgw.kernel.scheduling import shard_of
from smsgw.models.message import (
    CANCELLED,
    DELIVERED,
    FAILED,
    QUEUED,
    REJECTED,
    SCHEDULED,
    SENDING,
    SENT,
    UNDELIVERED,
)
from tests.fakes.builders import T0, a_message, event


def attempt(messages, sid, now=T0):
    return messages.claim(sid, event(SENDING, now), now, due_by=now + 1)


def claim(messages, sid, now=T0):
    """The message claimed, or None when the claim was refused."""
    return attempt(messages, sid, now).claimed


def unsettled(messages, sid, before):
    return [entry for entry in messages.unsettled(shard_of(sid), before) if entry[0] == sid]


def test_create_stores_once_and_get_reads_it_back(stores):
    message = a_message(text="first")

    assert stores.messages.create(message) is True
    assert stores.messages.create(a_message(message_sid=message.message_sid, text="again")) is False

    stored = stores.messages.get(message.message_sid, consistent=True)
    assert stored.to_resource() == message.to_resource()
    assert stores.messages.get("SM" + "0" * 32) is None
    assert stores.messages.get_submit_state("SM" + "0" * 32) is None


def test_transition_moves_forward_only_and_appends_its_event(stores):
    message = a_message()
    stores.messages.create(message)
    sid = message.message_sid

    assert stores.messages.transition(sid, SENT, event(SENT)) is None  # not from queued
    cancelled = stores.messages.transition(
        sid, CANCELLED, event(CANCELLED, Detail="by you"), set_attributes={"DateFinal": "x"}
    )

    assert cancelled.status == CANCELLED and cancelled.date_final == "x"
    assert [e["Status"] for e in cancelled.events] == [QUEUED, CANCELLED]
    assert cancelled.events[-1]["Detail"] == "by you"
    assert stores.messages.transition(sid, FAILED, event(FAILED)) is None
    assert stores.messages.get(sid, consistent=True).status == CANCELLED
    assert stores.messages.transition("SM" + "0" * 32, FAILED, event(FAILED)) is None


def test_transition_may_remove_attributes(stores):
    message = a_message(external_id="order-1")
    stores.messages.create(message)

    moved = stores.messages.transition(
        message.message_sid, FAILED, event(FAILED), remove_attributes=("ExternalId",)
    )

    assert moved.external_id is None


def test_a_message_is_claimed_once(stores):
    message = a_message()
    stores.messages.create(message)
    sid = message.message_sid

    first = claim(stores.messages, sid)
    second = claim(stores.messages, sid)

    assert first.status == SENDING and first.claimed_at == T0
    assert first.events[-1]["Status"] == SENDING
    assert second is None
    found, state = stores.messages.get_submit_state(sid)
    assert (found.status, state) == (SENDING, "claimed")
    assert claim(stores.messages, "SM" + "0" * 32) is None


def test_a_refused_claim_answers_with_the_message_as_it_stands(stores):
    # The sender reads nothing more for a redelivered job: the refused write tells it
    message = a_message()
    stores.messages.create(message)
    sid = message.message_sid
    claim(stores.messages, sid, now=T0)

    refused = attempt(stores.messages, sid, now=T0 + 5)
    missing = attempt(stores.messages, "SM" + "0" * 32)

    assert refused.claimed is None and refused.submit_state == "claimed"
    assert refused.current == stores.messages.get_submit_state(sid)[0]
    assert (refused.current.status, refused.current.claimed_at) == (SENDING, T0)
    assert (missing.claimed, missing.current, missing.submit_state) == (None, None, None)


def test_a_message_not_due_is_not_claimed(stores):
    message = a_message(status=SCHEDULED, deliver_at=T0 + 60, schedule=T0 + 60)
    stores.messages.create(message)
    sid = message.message_sid

    early = attempt(stores.messages, sid, now=T0 + 58)
    assert early.claimed is None and early.current.status == SCHEDULED
    assert claim(stores.messages, sid, now=T0 + 59).status == SENDING


def test_only_a_retryable_claim_is_claimed_again(stores):
    retryable, unknown, done = a_message(), a_message(), a_message()
    for message, state in ((retryable, "retryable"), (unknown, "unknown"), (done, "done")):
        stores.messages.create(message)
        claim(stores.messages, message.message_sid)
        assert stores.messages.settle_claim(
            message.message_sid, state, event(SENDING, Detail=state), now=T0
        )

    assert claim(stores.messages, retryable.message_sid, T0 + 10).claimed_at == T0 + 10
    for message, state in ((unknown, "unknown"), (done, "done")):
        refused = attempt(stores.messages, message.message_sid, T0 + 10)
        assert refused.claimed is None and refused.submit_state == state


def test_an_outcome_is_recorded_once_and_only_on_a_claim(stores):
    message, unclaimed = a_message(), a_message()
    stores.messages.create(message)
    stores.messages.create(unclaimed)
    claim(stores.messages, message.message_sid)
    sent = event(SENT, CarrierSid="CA1")

    assert stores.messages.settle_claim(
        message.message_sid, "done", sent, status=SENT, set_attributes={"CarrierSid": "CA1"}
    )
    assert not stores.messages.settle_claim(message.message_sid, "done", sent, status=SENT)
    assert not stores.messages.settle_claim(unclaimed.message_sid, "done", sent, status=SENT)
    assert not stores.messages.settle_claim("SM" + "0" * 32, "done", sent, status=SENT)

    stored = stores.messages.get(message.message_sid, consistent=True)
    assert (stored.status, stored.carrier_sid) == (SENT, "CA1")
    assert [e["Status"] for e in stored.events] == [QUEUED, SENDING, SENT]
    assert stores.messages.get(unclaimed.message_sid, consistent=True).status == QUEUED


@pytest.mark.parametrize("status", [SENT, DELIVERED, UNDELIVERED, FAILED])
def test_an_acceptance_a_receipt_overtook_is_recorded_once_beside_the_receipts_status(
    stores, status
):
    overtaken, sending, unclaimed = a_message(), a_message(), a_message()
    for m in (overtaken, sending, unclaimed):
        stores.messages.create(m)
    claim(stores.messages, overtaken.message_sid)
    claim(stores.messages, sending.message_sid)
    receipt = {"Timestamp": "2027-01-15T08:00:01.000Z", "Source": "receipt"}
    stores.receipts.apply(overtaken.message_sid, "twilio", "CA2", status, receipt, {})
    accepted = {
        "CarrierSid": "CA1",
        "Carrier": "twilio",
        "DateSent": "2027-01-15T08:00:00.000Z",
        "CarrierPartSids": ["CA2"],
    }

    assert stores.messages.record_accepted(overtaken.message_sid, accepted)
    assert not stores.messages.record_accepted(overtaken.message_sid, accepted)  # done
    assert not stores.messages.record_accepted(sending.message_sid, accepted)  # settle_claim's
    assert not stores.messages.record_accepted(unclaimed.message_sid, accepted)
    assert not stores.messages.record_accepted("SM" + "0" * 32, accepted)

    stored, state = stores.messages.get_submit_state(overtaken.message_sid)
    assert (stored.status, state) == (status, "done")
    assert (stored.carrier_sid, stored.carrier_part_sids) == ("CA1", ["CA2"])
    assert stored.date_sent == "2027-01-15T08:00:00.000Z"
    assert [e["Status"] for e in stored.events] == [QUEUED, SENDING, status]
    assert stores.messages.get_submit_state(sending.message_sid)[1] == "claimed"
    assert stores.messages.get(unclaimed.message_sid, consistent=True).date_sent is None


def test_an_unknown_outcome_is_unsettled_as_of_when_it_was_recorded(stores):
    message, sent = a_message(), a_message()
    for m in (message, sent):
        stores.messages.create(m)
        claim(stores.messages, m.message_sid)
    stores.messages.settle_claim(message.message_sid, "unknown", event(SENDING), now=T0 + 5)
    stores.messages.settle_claim(sent.message_sid, "done", event(SENT), status=SENT, now=T0 + 5)

    assert unsettled(stores.messages, message.message_sid, T0 + 5) == []
    assert unsettled(stores.messages, message.message_sid, T0 + 6) == [
        (message.message_sid, T0 + 5)
    ]
    assert unsettled(stores.messages, sent.message_sid, T0 + 10_000) == []


def test_a_stale_claim_is_indexed_once_by_its_claim_time(stores):
    message = a_message()
    stores.messages.create(message)
    sid = message.message_sid
    claim(stores.messages, sid, now=T0)

    assert not stores.messages.index_stale_claim(sid, T0 + 1)
    assert stores.messages.index_stale_claim(sid, T0)
    assert not stores.messages.index_stale_claim(sid, T0)
    assert unsettled(stores.messages, sid, T0 + 1) == [(sid, T0)]


def test_a_settled_claim_is_not_indexed_as_stale(stores):
    message = a_message()
    stores.messages.create(message)
    claim(stores.messages, message.message_sid, now=T0)
    stores.messages.settle_claim(message.message_sid, "done", event(SENT), status=SENT)

    assert not stores.messages.index_stale_claim(message.message_sid, T0)


def test_reconciled_moves_an_unsettled_message_to_sent_once(stores):
    message, done = a_message(), a_message()
    for m in (message, done):
        stores.messages.create(m)
        claim(stores.messages, m.message_sid)
    stores.messages.settle_claim(message.message_sid, "unknown", event(SENDING), now=T0)
    stores.messages.settle_claim(done.message_sid, "done", event(FAILED), status=FAILED)
    found = event(SENT, CarrierSid="CA9", Detail="found")

    assert stores.messages.reconciled(message.message_sid, found, {"CarrierSid": "CA9"})
    assert not stores.messages.reconciled(message.message_sid, found, {"CarrierSid": "CA9"})
    assert not stores.messages.reconciled(done.message_sid, found, {"CarrierSid": "CA9"})

    stored, state = stores.messages.get_submit_state(message.message_sid)
    assert (stored.status, state, stored.carrier_sid) == (SENT, "done", "CA9")
    assert unsettled(stores.messages, message.message_sid, T0 + 10_000) == []


def test_a_claim_with_no_outcome_may_be_reconciled(stores):
    message = a_message()
    stores.messages.create(message)
    claim(stores.messages, message.message_sid)

    assert stores.messages.reconciled(message.message_sid, event(SENT), {"CarrierSid": "CA1"})


def test_forget_unsettled_leaves_the_status_and_appends_its_event(stores):
    message, never = a_message(), a_message()
    for m in (message, never):
        stores.messages.create(m)
        claim(stores.messages, m.message_sid)
    stores.messages.settle_claim(message.message_sid, "unknown", event(SENDING), now=T0)

    stores.messages.forget_unsettled(message.message_sid, event(SENDING, Detail="gave up"))
    stores.messages.forget_unsettled(message.message_sid, event(SENDING, Detail="twice"))
    stores.messages.forget_unsettled(never.message_sid, event(SENDING, Detail="not indexed"))

    stored = stores.messages.get(message.message_sid, consistent=True)
    assert stored.status == SENDING
    assert [e.get("Detail") for e in stored.events][-1] == "gave up"
    assert unsettled(stores.messages, message.message_sid, T0 + 10_000) == []
    assert len(stores.messages.get(never.message_sid, consistent=True).events) == 2


def test_a_final_message_is_not_claimed(stores):
    message = a_message(status=DELIVERED)
    stores.messages.create(message)

    assert claim(stores.messages, message.message_sid) is None


def test_a_message_without_a_from_is_read_back(stores):
    message = a_message(sender=None, sender_type="", status=REJECTED)
    assert stores.messages.create(message) is True

    assert stores.messages.get(message.message_sid, consistent=True).sender is None


FINAL = (DELIVERED, UNDELIVERED, FAILED, CANCELLED, REJECTED)


def test_redact_removes_text_and_options_of_a_final_message_once(stores):
    message = a_message(status=DELIVERED, response_options={"ForwardToSms": "+61499333222"})
    stores.messages.create(message)
    sid = message.message_sid
    mark = event(DELIVERED, Source="redaction")

    redacted = stores.messages.redact(sid, mark, FINAL)

    assert (redacted.text, redacted.redacted, redacted.status) == (None, True, DELIVERED)
    assert redacted.response_options is None
    assert redacted.events[-1] == mark
    assert stores.messages.get(sid, consistent=True) == redacted
    assert stores.messages.redact(sid, mark, FINAL) is None  # already redacted
    assert stores.messages.get(sid, consistent=True).events == redacted.events
    assert stores.messages.redact("SM" + "0" * 32, mark, FINAL) is None


def test_redact_refuses_a_message_not_in_a_final_status(stores):
    message = a_message(status=SENT)
    stores.messages.create(message)

    assert stores.messages.redact(message.message_sid, event(SENT), FINAL) is None
    assert stores.messages.get(message.message_sid, consistent=True) == message
