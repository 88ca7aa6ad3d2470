"""Unknown-outcome reconciliation (smsgw.logic.reconcile) on the in-memory fakes: after
the grace period a message found at the carrier becomes `sent`, one settled meanwhile
leaves the index, one not found is asked again until it is given up; none is resent."""

from __future__ import annotations

import pytest

from smsgw import explanations
from smsgw.logic.reconcile import GIVE_UP_SECONDS, GRACE_SECONDS, Reconciler, ReconcileResult
from smsgw.models.carrier import CarrierError, OutboundSms, SubmitResult
from smsgw.models.message import DELIVERED, SENDING, SENT
from tests.fakes import FakeCarrier, FakeClaimStore, FakeReceiptStore
from tests.fakes.builders import T0, a_message, event

AFTER_GRACE = T0 + GRACE_SECONDS + 1


@pytest.fixture
def claims() -> FakeClaimStore:
    return FakeClaimStore()


@pytest.fixture
def carrier() -> FakeCarrier:
    return FakeCarrier("twilio")


@pytest.fixture
def receipts(claims) -> FakeReceiptStore:
    return FakeReceiptStore(claims)


@pytest.fixture
def reconciler(claims, carrier, receipts) -> Reconciler:
    return make_reconciler(claims, carrier, receipts)


def make_reconciler(claims, carrier, receipts, **options) -> Reconciler:
    def outbound(message, adapter):
        return OutboundSms(message.message_sid, message.sender or "", message.to, message.text)

    return Reconciler(
        claims=claims,
        carrier_for=lambda m: carrier,
        outbound=outbound,
        receipts=receipts,
        **options,
    )


def unknown(claims, at=T0) -> str:
    """A message whose submission's outcome is unknown since `at`."""
    message = a_message()
    claims.create(message)
    claims.claim(message.message_sid, event(SENDING, at), at, due_by=at + 1)
    claims.settle_claim(message.message_sid, "unknown", event(SENDING, at), now=at)
    return message.message_sid


def test_nothing_is_looked_up_within_the_grace_period(reconciler, claims, carrier):
    sid = unknown(claims)
    carrier.holds[sid] = SubmitResult("CA1", "sent")

    assert reconciler.run(T0 + GRACE_SECONDS) == ReconcileResult()
    assert claims.is_unsettled(sid)


def test_a_message_the_carrier_holds_becomes_sent_and_leaves_the_index(
    reconciler, claims, carrier, receipts
):
    sid = unknown(claims)
    carrier.holds[sid] = SubmitResult("CA1", "sent")

    assert reconciler.run(AFTER_GRACE) == ReconcileResult(found=1)

    message, state = claims.get_submit_state(sid)
    assert (message.status, state, message.carrier_sid) == (SENT, "done", "CA1")
    assert message.events[-1]["Detail"] == explanations.FOUND_BY_RECONCILIATION
    assert not claims.is_unsettled(sid)
    assert receipts.message_sid_for("twilio", "CA1") == sid
    assert carrier.submissions == []
    assert reconciler.run(AFTER_GRACE + 60) == ReconcileResult()


def test_a_message_not_found_is_asked_again_then_given_up_and_never_resent(
    reconciler, claims, carrier
):
    sid = unknown(claims)

    assert reconciler.run(AFTER_GRACE) == ReconcileResult(pending=1)
    assert reconciler.run(T0 + GIVE_UP_SECONDS - 1) == ReconcileResult(pending=1)
    assert reconciler.run(T0 + GIVE_UP_SECONDS) == ReconcileResult(given_up=1)

    message, state = claims.get_submit_state(sid)
    assert (message.status, state) == (SENDING, "unknown")
    assert message.events[-1]["Detail"] == explanations.NOT_FOUND_BY_RECONCILIATION
    assert not claims.is_unsettled(sid)
    assert carrier.submissions == []


def test_a_message_a_receipt_settled_meanwhile_only_leaves_the_index(
    reconciler, claims, carrier, receipts
):
    sid = unknown(claims)
    receipts.apply(sid, "twilio", "CA1", DELIVERED, {"Timestamp": "x", "Source": "receipt"}, {})
    carrier.holds[sid] = SubmitResult("CA1", "delivered")

    assert reconciler.run(AFTER_GRACE) == ReconcileResult(settled=1)

    assert claims.get(sid).status == DELIVERED
    assert not claims.is_unsettled(sid)


def test_a_carrier_that_cannot_be_asked_leaves_the_message_pending(reconciler, claims, carrier):
    sid = unknown(claims)
    carrier.reconcile_error = CarrierError("503", permanent=False)

    assert reconciler.run(AFTER_GRACE) == ReconcileResult(pending=1)
    assert claims.is_unsettled(sid)


def test_a_dead_senders_claim_is_reconciled_like_an_unknown_outcome(reconciler, claims, carrier):
    message = a_message()
    claims.create(message)
    sid = message.message_sid
    claims.claim(sid, event(SENDING), T0, due_by=T0 + 1)
    claims.index_stale_claim(sid, T0)
    carrier.holds[sid] = SubmitResult("CA7", "sent")

    assert reconciler.run(AFTER_GRACE) == ReconcileResult(found=1)
    assert claims.get_submit_state(sid)[1] == "done"


def test_one_run_looks_up_at_most_its_limit(claims, carrier, receipts):
    sids = [unknown(claims) for _ in range(5)]
    limited = make_reconciler(claims, carrier, receipts, max_per_run=3)

    assert limited.run(AFTER_GRACE) == ReconcileResult(pending=3)
    assert sum(claims.is_unsettled(s) for s in sids) == 5
