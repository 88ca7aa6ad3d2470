"""Redacting a message on request (smsgw.logic.redaction) on the in-memory fakes: the text
of a final message and of the replies it routed goes, once; anything else is refused."""

from __future__ import annotations

import pytest

from smsgw.errors import ErrorCode, NotFoundError, SmsGatewayError
from smsgw.logic.redaction import REDACTION_SOURCE, redact
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
    iso_from_epoch,
)
from smsgw.models.tenant import Property
from tests.fakes import FakeMessageStore, FakeReplyStore
from tests.fakes.builders import T0, a_message, a_reply

LEASE_ID = "LS" + "1" * 32
PROPERTY = Property("PR" + "1" * 32, "AC" + "1" * 32, "Shop", True)


@pytest.fixture
def messages() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def replies() -> FakeReplyStore:
    return FakeReplyStore()


def stored(messages, **changes) -> str:
    message = a_message(**changes)
    messages.create(message)
    return message.message_sid


def leased(messages, replies, status=DELIVERED) -> str:
    sid = stored(
        messages,
        status=status,
        lease={"LeaseId": LEASE_ID, "Number": "+61400000001", "ExpiresAt": "x"},
        response_options={"ForwardToEmail": "desk@shop.example"},
    )
    replies.store(a_reply(message_sid=sid, text="YES", received_at=iso_from_epoch(T0 + 5)), T0)
    replies.store(a_reply(message_sid=sid, text="My address is…"), T0)
    # a reply routed by a later message on the same lease is that message's
    replies.store(
        a_reply(message_sid="SM" + "9" * 32, text="NO", received_at=iso_from_epoch(T0 + 9)), T0
    )
    return sid


def texts(replies) -> list[tuple[str | None, bool]]:
    listed, _ = replies.for_lease(LEASE_ID, iso_from_epoch(T0))
    return sorted(((r.text, r.redacted) for r in listed), key=str)


@pytest.mark.parametrize("status", [DELIVERED, UNDELIVERED, FAILED, CANCELLED, REJECTED])
def test_a_final_message_loses_its_text_and_keeps_its_status(messages, replies, status):
    sid = stored(messages, status=status, response_options={"ForwardToSms": "+61499333222"})

    message = redact(messages, replies, PROPERTY, sid, T0 + 60)

    assert (message.text, message.redacted, message.status) == (None, True, status)
    assert message.to_resource()["Text"] is None and message.to_resource()["Redacted"] is True
    assert message.response_options is None
    assert message.events[-1] == {
        "Status": status,
        "Timestamp": iso_from_epoch(T0 + 60),
        "Source": REDACTION_SOURCE,
    }
    assert messages.get(sid).text is None


def test_the_replies_the_message_routed_lose_their_text_and_no_others(messages, replies):
    sid = leased(messages, replies)

    redact(messages, replies, PROPERTY, sid, T0 + 60)

    assert texts(replies) == [("NO", False), (None, True), (None, True)]


def test_a_second_redaction_answers_the_same_and_records_nothing_more(messages, replies):
    sid = leased(messages, replies)
    first = redact(messages, replies, PROPERTY, sid, T0 + 60)

    second = redact(messages, replies, PROPERTY, sid, T0 + 120)

    assert second.to_resource() == first.to_resource()
    assert [e.get("Source") for e in second.events].count(REDACTION_SOURCE) == 1


def test_a_reply_that_arrived_after_a_redaction_goes_with_the_next_call(messages, replies):
    sid = leased(messages, replies)
    redact(messages, replies, PROPERTY, sid, T0 + 60)
    replies.store(a_reply(message_sid=sid, text="late", received_at=iso_from_epoch(T0 + 90)), T0)

    redact(messages, replies, PROPERTY, sid, T0 + 120)

    assert ("late", False) not in texts(replies)


@pytest.mark.parametrize("status", [SCHEDULED, QUEUED, SENDING, SENT])
def test_a_message_not_yet_final_is_a_conflict_and_nothing_changes(messages, replies, status):
    sid = leased(messages, replies, status=status)
    before = messages.get(sid)

    with pytest.raises(SmsGatewayError) as raised:
        redact(messages, replies, PROPERTY, sid, T0 + 60)

    assert raised.value.code is ErrorCode.MESSAGE_NOT_REDACTABLE
    assert raised.value.code.http_status == 409
    assert messages.get(sid) == before
    assert ("YES", False) in texts(replies)


@pytest.mark.parametrize(
    "sid",
    ["SM" + "0" * 32, "not-a-sid", ""],
    ids=["unknown", "malformed", "empty"],
)
def test_an_unknown_message_is_not_found(messages, replies, sid):
    with pytest.raises(NotFoundError) as raised:
        redact(messages, replies, PROPERTY, sid, T0)

    assert raised.value.code is ErrorCode.MESSAGE_NOT_FOUND


def test_another_propertys_message_is_not_found_and_keeps_its_text(messages, replies):
    sid = leased(messages, replies)
    other = Property("PR" + "2" * 32, "AC" + "1" * 32, "Other", True)

    with pytest.raises(NotFoundError):
        redact(messages, replies, other, sid, T0)

    assert messages.get(sid).text == "Hello" and not messages.get(sid).redacted
    assert ("YES", False) in texts(replies)
