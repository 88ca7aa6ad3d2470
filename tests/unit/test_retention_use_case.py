"""Retention (smsgw.logic.retention) on the in-memory fakes: text removed once a
property's period has passed, in the order messages were created, never from a message
still to be sent, and never twice."""

from __future__ import annotations

import pytest

from smsgw.logic.retention import DAY, RETENTION_SOURCE, STUCK_SENDING_SECONDS, expire_text
from smsgw.models.message import DELIVERED, FAILED, SCHEDULED, SENDING, SENT, iso_from_epoch
from tests.fakes import FakeMessageStore, FakeReplyStore
from tests.fakes.builders import T0, a_message, a_reply
from tests.fakes.retention import FakeRetentionStore

PROPERTY = "PR" + "1" * 32
LEASE_ID = "LS" + "1" * 32


@pytest.fixture
def messages() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def replies() -> FakeReplyStore:
    return FakeReplyStore()


@pytest.fixture
def store(messages) -> FakeRetentionStore:
    store = FakeRetentionStore(messages)
    store.set_retention(PROPERTY, 7)
    return store


def stored(messages, status=DELIVERED, at=T0, **changes) -> str:
    message = a_message(**{"property_sid": PROPERTY, "status": status, "now": at, **changes})
    messages.create(message)
    return message.message_sid


def run(store, messages, replies, now, **kw):
    return expire_text(store, messages, replies, now, **kw)


def test_text_stays_for_the_period_then_goes_with_an_event(store, messages, replies):
    sid = stored(messages, response_options={"ForwardToSms": "+61499333222"})

    before = run(store, messages, replies, T0 + 7 * DAY - 1)
    after = run(store, messages, replies, T0 + 7 * DAY + 1)

    assert (before.removed, after.removed) == (0, 1)
    message = messages.get(sid)
    assert (message.text, message.redacted, message.status) == (None, True, DELIVERED)
    assert message.response_options is None
    assert message.events[-1] == {
        "Status": DELIVERED,
        "Timestamp": iso_from_epoch(T0 + 7 * DAY + 1),
        "Source": RETENTION_SOURCE,
    }


def test_a_property_without_a_period_keeps_its_text(store, messages, replies):
    sid = stored(messages)
    store.set_retention(PROPERTY, None)

    assert run(store, messages, replies, T0 + 400 * DAY).removed == 0
    assert messages.get(sid).text == "Hello"


def test_the_replies_a_message_routed_go_with_it(store, messages, replies):
    lease = {"LeaseId": LEASE_ID, "Number": "+61400000001", "ExpiresAt": "x"}
    sid = stored(messages, lease=lease)
    replies.store(a_reply(message_sid=sid, received_at=iso_from_epoch(T0 + 5)), T0)

    run(store, messages, replies, T0 + 8 * DAY)

    [reply], _ = replies.for_lease(LEASE_ID, iso_from_epoch(T0))
    assert (reply.text, reply.redacted) == (None, True)


def test_a_message_still_to_be_sent_keeps_its_text_and_holds_the_cursor(store, messages, replies):
    waiting = stored(messages, status=SCHEDULED, at=T0)
    behind = stored(messages, status=SENT, at=T0 + 1)

    held = run(store, messages, replies, T0 + 8 * DAY)
    kept = messages.get(behind).text
    messages.items[waiting]["Status"] = FAILED  # it is done with at last
    released = run(store, messages, replies, T0 + 8 * DAY + 60)

    assert (held.removed, kept) == (0, "Hello")
    assert released.removed == 2
    assert messages.get(waiting).text is None and messages.get(behind).text is None


def test_a_message_stuck_sending_long_past_its_period_loses_its_text(store, messages, replies):
    sid = stored(messages, status=SENDING)

    assert run(store, messages, replies, T0 + 8 * DAY).removed == 0
    late = T0 + 7 * DAY + STUCK_SENDING_SECONDS + 1
    assert run(store, messages, replies, late).removed == 1
    assert messages.get(sid).status == SENDING and messages.get(sid).text is None


def test_each_pass_reads_a_page_and_the_next_goes_on_where_it_stopped(store, messages, replies):
    sids = [stored(messages, at=T0 + n) for n in range(5)]

    counts = [run(store, messages, replies, T0 + 8 * DAY, page=2).removed for _ in range(4)]

    assert counts == [2, 2, 1, 0]
    assert all(messages.get(sid).text is None for sid in sids)


def test_a_message_redacted_before_is_not_recorded_again(store, messages, replies):
    sid = stored(messages)
    messages.redact(
        sid, {"Status": DELIVERED, "Timestamp": "x", "Source": "redaction"}, (DELIVERED,)
    )

    result = run(store, messages, replies, T0 + 8 * DAY)

    assert result.removed == 0
    assert [e.get("Source") for e in messages.get(sid).events].count(RETENTION_SOURCE) == 0


def test_a_pass_reads_at_most_its_budget_and_the_next_starts_at_another_property(
    store, messages, replies
):
    other = "PR" + "2" * 32
    store.set_retention(other, 7)
    mine = [stored(messages, at=T0 + n) for n in range(3)]
    theirs = [stored(messages, at=T0 + n, property_sid=other) for n in range(3)]

    first = run(store, messages, replies, T0 + 8 * DAY, budget=3)
    second = run(store, messages, replies, T0 + 8 * DAY + 60, budget=3)

    assert (first.removed, second.removed) == (3, 3)
    assert all(messages.get(sid).text is None for sid in mine + theirs)


# --- a property whose retention deletes its messages ----------------------------------------


def leased(messages, replies, at=T0, **changes) -> str:
    """A message sent on the lease, with a reply it routed and one routed by another."""
    lease = {"LeaseId": LEASE_ID, "Number": "+61400000001", "ExpiresAt": "x"}
    sid = stored(messages, at=at, lease=lease, **changes)
    replies.store(a_reply(message_sid=sid, received_at=iso_from_epoch(at + 5)), at)
    return sid


def test_a_deleting_property_loses_its_messages_and_their_replies_after_the_period(
    store, messages, replies
):
    # Given a property whose retention deletes messages, and one of its messages with a
    # reply, beside another message's reply on the same lease
    store.set_retention(PROPERTY, 7, delete_messages=True)
    sid = leased(messages, replies)
    replies.store(a_reply(message_sid="SM" + "9" * 32, received_at=iso_from_epoch(T0 + 9)), T0)

    # When the pass runs within the period, then after it, then again
    before = run(store, messages, replies, T0 + 7 * DAY - 1)
    after = run(store, messages, replies, T0 + 7 * DAY + 1)
    again = run(store, messages, replies, T0 + 7 * DAY + 61)

    # Then the message and the reply it routed are gone after the period, once; the other
    # message's reply stays
    assert (before.deleted, after.deleted, again.deleted) == (0, 1, 0)
    assert after.removed == 0
    assert messages.get(sid) is None
    left, _ = replies.for_lease(LEASE_ID, iso_from_epoch(T0))
    assert [r.message_sid for r in left] == ["SM" + "9" * 32]


def test_a_deleting_property_keeps_a_message_still_to_be_sent_and_what_follows_it(
    store, messages, replies
):
    store.set_retention(PROPERTY, 7, delete_messages=True)
    waiting = stored(messages, status=SCHEDULED, at=T0)
    behind = stored(messages, status=DELIVERED, at=T0 + 1)

    held = run(store, messages, replies, T0 + 8 * DAY)
    kept = messages.get(behind)
    messages.items[waiting]["Status"] = FAILED  # it is done with at last
    released = run(store, messages, replies, T0 + 8 * DAY + 60)

    assert held.deleted == 0 and kept is not None
    assert released.deleted == 2 and messages.items == {}


def test_a_deleting_pass_stopped_halfway_is_finished_by_the_next(store, messages, replies):
    # Given a deleting property's two messages, and a pass that stops after the first
    # message's reply was deleted (the scheduler's invocation killed)
    store.set_retention(PROPERTY, 7, delete_messages=True)
    first = leased(messages, replies, at=T0)
    second = stored(messages, at=T0 + 10)
    delete_message = store.delete_message

    def killed(message, allowed):
        raise TimeoutError("the invocation ended")

    store.delete_message = killed
    with pytest.raises(TimeoutError):
        run(store, messages, replies, T0 + 8 * DAY)
    assert messages.get(first) is not None and store.cursors == {}

    # When the next pass runs
    store.delete_message = delete_message
    resumed = run(store, messages, replies, T0 + 8 * DAY + 60)

    # Then it finishes: both messages and the reply are gone, each counted once
    assert resumed.deleted == 2
    assert messages.get(first) is None and messages.get(second) is None
    assert replies.for_lease(LEASE_ID, iso_from_epoch(T0))[0] == []


def test_a_property_set_back_to_text_only_removes_text_and_deletes_nothing(
    store, messages, replies
):
    store.set_retention(PROPERTY, 7, delete_messages=True)
    store.set_retention(PROPERTY, 7)
    sid = stored(messages)

    result = run(store, messages, replies, T0 + 8 * DAY)

    assert (result.removed, result.deleted) == (1, 0)
    assert messages.get(sid).text is None


@pytest.mark.parametrize("deletes", [False, True], ids=["text", "delete"])
def test_a_reply_that_arrived_after_its_messages_pass_goes_the_period_after_it_arrived(
    store, messages, replies, deletes
):
    # Given a property keeping text 7 days (or deleting messages then), whose leased
    # message's pass has run; then a reply to it arriving 10 days after the message,
    # listed for retention as the webhooks function lists a retaining property's replies
    store.set_retention(PROPERTY, 7, delete_messages=deletes)
    sid = leased(messages, replies)
    run(store, messages, replies, T0 + 8 * DAY)
    arrived = T0 + 10 * DAY
    late = a_reply(message_sid=sid, property_sid=PROPERTY, received_at=iso_from_epoch(arrived))
    replies.store(late, arrived, retained=True)

    # When the pass runs within 7 days of its arrival, then after, then again
    within = run(store, messages, replies, arrived + 7 * DAY - 1)
    kept = replies.for_lease(LEASE_ID, iso_from_epoch(arrived))[0]
    after = run(store, messages, replies, arrived + 7 * DAY + 1)
    again = run(store, messages, replies, arrived + 7 * DAY + 61)

    # Then it keeps its text for the period from its own arrival, and then loses it (or
    # is deleted), once
    assert [r.text for r in kept] == ["YES"]
    assert (within.late_replies, after.late_replies, again.late_replies) == (0, 1, 0)
    left, _ = replies.for_lease(LEASE_ID, iso_from_epoch(arrived))
    if deletes:
        assert left == []
    else:
        assert [(r.text, r.redacted) for r in left] == [(None, True)]


def test_a_listed_reply_its_message_took_with_it_is_not_counted_again(store, messages, replies):
    # Given a listed reply that arrived within its message's period
    lease = {"LeaseId": LEASE_ID, "Number": "+61400000001", "ExpiresAt": "x"}
    sid = stored(messages, lease=lease)
    reply = a_reply(message_sid=sid, property_sid=PROPERTY, received_at=iso_from_epoch(T0 + 5))
    replies.store(reply, T0 + 5, retained=True)

    # When the passes run after the message's period and after the reply's
    first = run(store, messages, replies, T0 + 7 * DAY + 1)
    second = run(store, messages, replies, T0 + 7 * DAY + 10)

    # Then the message's pass removed its text and took it off the list
    assert (first.removed, first.late_replies, second.late_replies) == (1, 0, 0)
    assert replies.retained == {}


def test_a_reply_that_arrived_while_the_period_was_removed_goes_once_it_is_set_again(
    store, messages, replies
):
    # Given a property whose pass removed a leased message's text; then its period removed
    # (`--keep`), and a reply to that message arriving meanwhile (not listed: no period)
    sid = leased(messages, replies)
    run(store, messages, replies, T0 + 8 * DAY)
    store.set_retention(PROPERTY, None)
    arrived = T0 + 9 * DAY
    late = a_reply(message_sid=sid, property_sid=PROPERTY, received_at=iso_from_epoch(arrived))
    replies.store(late, arrived)

    # When the period is set again and the pass runs
    store.set_retention(PROPERTY, 7)
    again = run(store, messages, replies, T0 + 9 * DAY + 60)

    # Then the pass walked the property's messages from the first, and the reply lost its
    # text with its message's (already removed: not counted again)
    assert again.removed == 0
    left, _ = replies.for_lease(LEASE_ID, iso_from_epoch(arrived))
    assert [(r.text, r.redacted) for r in left] == [(None, True)]
