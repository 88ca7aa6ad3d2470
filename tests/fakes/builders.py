"""Small builders of the domain objects the fakes and contract tests store."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smsgw.ids import new_sid
from smsgw.models.lease import Lease, Reply
from smsgw.models.message import QUEUED, Message, iso_from_epoch

T0 = 1_800_000_000
"""A fixed moment (2027-01-15): tests pass time explicitly."""


def a_message(**changes: Any) -> Message:
    created = iso_from_epoch(changes.pop("now", T0))
    message = Message(
        message_sid=new_sid("SM"),
        account_sid="AC" + "1" * 32,
        property_sid="PR" + "1" * 32,
        sender="+61499009990",
        sender_type="e164",
        to="+61488023555",
        text="Hello",
        status=QUEUED,
        segments=1,
        encoding="GSM-7",
        date_created=created,
        events=[{"Status": QUEUED, "Timestamp": created}],
    )
    return replace(message, **changes)


def a_lease(**changes: Any) -> Lease:
    lease = Lease(
        lease_id=new_sid("LS"),
        recipient="+61488023555",
        number="+61400000001",
        account_sid="AC1",
        property_sid="PR1",
        expires_at=T0 + 1000,
        slot=1,
        date_created=iso_from_epoch(T0),
        last_message_sid="SM1",
    )
    return replace(lease, **changes)


def a_reply(**changes: Any) -> Reply:
    reply = Reply(
        reply_sid=new_sid("RE"),
        responder="+61488023555",
        number="+61400000001",
        text="YES",
        received_at=iso_from_epoch(T0),
        carrier="twilio",
        carrier_sid=new_sid("SM"),
        lease_id="LS" + "1" * 32,
        account_sid="AC1",
        property_sid="PR1",
        message_sid="SM1",
    )
    return replace(reply, **changes)


def event(status: str, at: float = T0, **fields: Any) -> dict[str, Any]:
    return {"Status": status, "Timestamp": iso_from_epoch(at), **fields}
