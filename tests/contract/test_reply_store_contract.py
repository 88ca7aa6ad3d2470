"""What reply handling, the forwarder and retention rely on from ReplyStore: a reply stored
once per carrier message, with the forwards it is due on the table's stream, the lease's
replies listed, a forward claimed at most once, and a retaining property's replies listed
by arrival until their text goes."""

from __future__ import annotations

from smsgw.models.lease import FORWARD_EMAIL, FORWARD_SMS, Reply, forwards_of
from tests.fakes.builders import T0, a_reply

LEASE = "LS" + "2" * 32


def test_a_reply_is_stored_once_per_carrier_message(stores):
    first = a_reply(carrier_sid="SMin1", received_at="2027-01-15T08:00:00.000Z")
    retry = a_reply(carrier_sid="SMin1", received_at="2027-01-15T08:00:09.000Z", text="again")

    assert stores.replies.store(first, T0) is True
    assert stores.replies.store(retry, T0 + 9) is False
    assert stores.replies.store(a_reply(carrier="vonage", carrier_sid="SMin1"), T0) is True


def test_a_reply_is_on_the_tables_stream_with_the_forwards_it_was_stored_with(stores):
    options = {"ForwardToEmail": "ops@example.com", "WebhookUri": "https://a.example/replies"}
    forwarded, kept = a_reply(lease_id=LEASE), a_reply(lease_id=LEASE)

    stores.replies.store(forwarded, T0, options)
    stores.replies.store(kept, T0)  # nothing to forward
    stores.replies.store(forwarded, T0 + 9, options)  # a retried callback: nothing written

    inserts = stores.reply_inserts()
    assert [key for key, _ in inserts] == [f"LEASEREPLIES#{LEASE}"] * 2
    assert [forwards_of(item) for _, item in inserts] == [options, None]
    assert [Reply.from_item(item) for _, item in inserts] == [forwarded, kept]


def test_an_unmatched_reply_is_stored_once_too(stores):
    unmatched = a_reply(lease_id=None, account_sid=None, property_sid=None, message_sid=None)

    assert stores.replies.store(unmatched, T0) is True
    assert stores.replies.store(unmatched, T0) is False


def test_a_leases_replies_since_a_moment_are_listed_oldest_first(stores):
    at = ["2027-01-15T08:00:02.000Z", "2027-01-15T08:00:00.000Z", "2027-01-15T08:00:01.000Z"]
    for moment in at:
        stores.replies.store(a_reply(lease_id=LEASE, received_at=moment, text=moment), T0)
    stores.replies.store(a_reply(lease_id="LS" + "3" * 32), T0)

    replies, _ = stores.replies.for_lease(LEASE, "2027-01-15T08:00:01.000Z")

    assert [r.text for r in replies] == sorted(at)[1:]


def test_a_leases_replies_page_through_every_one_once(stores):
    for second in range(5):
        moment = f"2027-01-15T08:00:0{second}.000Z"
        stores.replies.store(a_reply(lease_id=LEASE, received_at=moment, text=moment), T0)

    seen, token = [], None
    for _ in range(5):
        page, token = stores.replies.for_lease(
            LEASE, "2027-01-15T00:00:00.000Z", page_size=2, page_token=token
        )
        seen += [r.text for r in page]
        if token is None:
            break

    assert seen == [f"2027-01-15T08:00:0{second}.000Z" for second in range(5)]


def test_a_forward_is_claimed_at_most_once_unless_released(stores):
    assert stores.replies.claim_forward("RE1", FORWARD_EMAIL, T0) is True
    assert stores.replies.claim_forward("RE1", FORWARD_EMAIL, T0) is False
    assert stores.replies.claim_forward("RE1", FORWARD_SMS, T0) is True
    assert stores.replies.claim_forward("RE2", FORWARD_EMAIL, T0) is True

    stores.replies.release_forward("RE1", FORWARD_EMAIL)
    assert stores.replies.claim_forward("RE1", FORWARD_EMAIL, T0) is True

    stores.replies.settle_forward("RE1", FORWARD_EMAIL, "sent")
    assert stores.replies.claim_forward("RE1", FORWARD_EMAIL, T0) is False


def test_an_sms_forward_is_recognised_by_its_sender_number_and_text_until_it_expires(stores):
    sender, to, expires = "+61488023555", "+61400000002", T0 + 86_400
    stores.replies.record_sms_forward(sender, to, "YES please", "SM" + "1" * 32, expires)
    stores.replies.record_sms_forward(sender, to, "YES please", "SM" + "1" * 32, expires)

    assert stores.replies.is_sms_forward(sender, to, "YES please", T0 + 60) is True
    assert stores.replies.is_sms_forward(sender, to, "YES", T0 + 60) is False
    assert stores.replies.is_sms_forward(to, sender, "YES please", T0 + 60) is False
    assert stores.replies.is_sms_forward(sender, "+61400000003", "YES please", T0 + 60) is False
    assert stores.replies.is_sms_forward(sender, to, "YES please", expires) is False


def _three_routed_between_two_others(stores):
    """Five replies on one lease: one before the message, three it routed, one routed by a
    later message. The message's sid, the reply before and the other."""
    sid, later = "SM" + "1" * 32, "SM" + "2" * 32
    before = a_reply(lease_id=LEASE, message_sid=sid, received_at="2027-01-15T07:59:59.000Z")
    routed = [
        a_reply(lease_id=LEASE, message_sid=sid, received_at=f"2027-01-15T08:00:0{n}.000Z")
        for n in range(3)
    ]
    other = a_reply(lease_id=LEASE, message_sid=later, received_at="2027-01-15T08:00:05.000Z")
    for reply in (before, *routed, other):
        stores.replies.store(reply, T0, {"ForwardToEmail": "ops@example.com"})
    return sid, before, other


def test_the_replies_a_message_routed_are_redacted_once_and_no_others(stores):
    sid, _, _ = _three_routed_between_two_others(stores)

    assert stores.replies.redact_for_message(LEASE, "2027-01-15T08:00:00.000Z", sid) == 3
    assert stores.replies.redact_for_message(LEASE, "2027-01-15T08:00:00.000Z", sid) == 0

    listed, _ = stores.replies.for_lease(LEASE, "2027-01-15T07:00:00.000Z")
    assert [(r.text, r.redacted) for r in listed] == [
        ("YES", False),
        (None, True),
        (None, True),
        (None, True),
        ("YES", False),
    ]


def test_the_replies_a_message_routed_are_deleted_once_and_no_others(stores):
    sid, before, other = _three_routed_between_two_others(stores)
    stores.replies.redact_for_message(LEASE, "2027-01-15T08:00:00.000Z", sid)  # redacted too

    assert stores.replies.delete_for_message(LEASE, "2027-01-15T08:00:00.000Z", sid) == 3
    assert stores.replies.delete_for_message(LEASE, "2027-01-15T08:00:00.000Z", sid) == 0

    listed, _ = stores.replies.for_lease(LEASE, "2027-01-15T07:00:00.000Z")
    assert [r.reply_sid for r in listed] == [before.reply_sid, other.reply_sid]


def _listed(stores, property_sid="PR1", before="2027-01-16T00:00:00.000Z", limit=10):
    return stores.replies.retained_before(property_sid, before, limit)


def test_replies_listed_for_retention_come_oldest_first_by_property_and_arrival(stores):
    at = ["2027-01-15T08:00:02.000Z", "2027-01-15T08:00:00.000Z", "2027-01-15T08:00:01.000Z"]
    replies = [a_reply(lease_id=LEASE, received_at=moment) for moment in at]
    for reply in replies:
        stores.replies.store(reply, T0, retained=True)
    stores.replies.store(a_reply(lease_id=LEASE, property_sid="PR2"), T0, retained=True)
    stores.replies.store(a_reply(lease_id=LEASE), T0)  # not listed

    expected = [
        (f"LEASEREPLIES#{LEASE}", f"{r.received_at}#{r.reply_sid}")
        for r in sorted(replies, key=lambda r: r.received_at)
    ]
    assert _listed(stores) == expected
    assert _listed(stores, before="2027-01-15T08:00:01.000Z") == expected[:1]
    assert _listed(stores, limit=2) == expected[:2]


def test_a_listed_reply_expires_once_and_leaves_the_list_as_a_redaction_takes_it_off(stores):
    sid = "SM" + "8" * 32
    kept, deleted, redacted = (
        a_reply(lease_id=LEASE, message_sid=sid, received_at=f"2027-01-15T09:00:0{i}.000Z")
        for i in range(3)
    )
    for reply in (kept, deleted, redacted):
        stores.replies.store(reply, T0, {"ForwardToEmail": "ops@example.com"}, retained=True)
    first, second, _redacted_later = _listed(stores)

    assert stores.replies.expire(*first, delete=False) is True
    assert stores.replies.expire(*first, delete=False) is False
    assert stores.replies.expire(*second, delete=True) is True
    assert stores.replies.expire(*second, delete=True) is False
    stores.replies.redact_for_message(LEASE, "2027-01-15T08:00:00.000Z", sid)

    assert _listed(stores) == []
    listed, _ = stores.replies.for_lease(LEASE, "2027-01-15T09:00:00.000Z")
    assert [(r.reply_sid, r.text, r.redacted) for r in listed] == [
        (kept.reply_sid, None, True),
        (redacted.reply_sid, None, True),
    ]
