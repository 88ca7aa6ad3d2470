"""Leases, replies and the jobs that forward a reply (SMS, e-mail, webhook)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from smsgw.models.message import _plain, iso_from_epoch

LEASE_SECONDS = 30 * 24 * 3600
"""A lease lives 30 days (2,592,000 s) from its last send; live while ExpiresAt > now."""
MAX_LEASES_PER_RECIPIENT = 5
"""An account holds at most this many live leases to one recipient (the seed)."""

REPLY_PREFIX = "RE"
LEASE_PREFIX = "LS"

# CallbackQueue job kinds besides the receipt webhook (models/callback.py).
FORWARD_SMS = "forward_sms"
FORWARD_EMAIL = "forward_email"
REPLY_WEBHOOK = "reply"


@dataclass(frozen=True, slots=True)
class Lease:
    lease_id: str
    recipient: str
    number: str
    account_sid: str
    property_sid: str
    expires_at: int
    slot: int
    date_created: str
    last_message_sid: str | None = None
    response_options: dict[str, str] | None = None

    def is_live(self, now: float) -> bool:
        return self.expires_at > now

    def to_message_item(self) -> dict[str, Any]:
        """What the message stores about its lease (shown as `Lease` on the resource)."""
        return {
            "LeaseId": self.lease_id,
            "Number": self.number,
            "ExpiresAt": iso_from_epoch(self.expires_at),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Lease:
        item = _plain(item)
        return cls(
            lease_id=item["LeaseId"],
            recipient=item["Recipient"],
            number=item["Number"],
            account_sid=item["AccountSid"],
            property_sid=item["PropertySid"],
            expires_at=int(item["ExpiresAt"]),
            slot=int(item.get("Slot", 0)),
            date_created=item.get("DateCreated", ""),
            last_message_sid=item.get("LastMessageSid"),
            response_options=item.get("ResponseOptions") or None,
        )


@dataclass(frozen=True, slots=True)
class Reply:
    reply_sid: str
    responder: str
    """The recipient who replied (the inbound SMS's From)."""
    number: str
    """The leased number it was sent to (the inbound SMS's To)."""
    text: str | None
    """None once redacted with its message (`redacted`)."""
    received_at: str
    carrier: str
    carrier_sid: str
    lease_id: str | None = None
    account_sid: str | None = None
    property_sid: str | None = None
    message_sid: str | None = None
    """The latest message sent on the lease: its ResponseOptions route the reply."""
    keyword: str | None = None
    """`opt_out` or `opt_in` when the text was a STOP/START keyword."""
    redacted: bool = False

    def to_resource(self) -> dict[str, Any]:
        return {
            "ReplySid": self.reply_sid,
            "MessageSid": self.message_sid,
            "AccountSid": self.account_sid,
            "PropertySid": self.property_sid,
            "From": self.responder,
            "To": self.number,
            "Text": self.text,
            "Redacted": self.redacted,
            "DateReceived": self.received_at,
            "Keyword": self.keyword,
        }

    def to_item(self) -> dict[str, Any]:
        item = {
            "ReplySid": self.reply_sid,
            "From": self.responder,
            "To": self.number,
            "Text": self.text,
            "ReceivedAt": self.received_at,
            "Carrier": self.carrier,
            "CarrierSid": self.carrier_sid,
            "LeaseId": self.lease_id,
            "AccountSid": self.account_sid,
            "PropertySid": self.property_sid,
            "MessageSid": self.message_sid,
            "Keyword": self.keyword,
            "Redacted": self.redacted or None,
        }
        return {key: value for key, value in item.items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Reply:
        return cls(
            reply_sid=item["ReplySid"],
            responder=item["From"],
            number=item["To"],
            text=None if item.get("Redacted") else item.get("Text", ""),
            received_at=item["ReceivedAt"],
            carrier=item.get("Carrier", ""),
            carrier_sid=item.get("CarrierSid", ""),
            lease_id=item.get("LeaseId"),
            account_sid=item.get("AccountSid"),
            property_sid=item.get("PropertySid"),
            message_sid=item.get("MessageSid"),
            keyword=item.get("Keyword"),
            redacted=bool(item.get("Redacted")),
        )


FORWARDS = "Forwards"
"""The stored reply's attribute naming what it is forwarded by: the lease's response options
when it arrived (a JSON object, as a string), written with the reply and only when it is to
be forwarded. The table's stream hands the item to the notifier, which queues the forwards
(logic/outbox.py): the stream is the forwards' outbox (docs/webhooks.md)."""


def forwards_attribute(options: dict[str, str]) -> str:
    """The stored form of a reply's forwards (the options, in their order)."""
    return json.dumps(options, separators=(",", ":"))


def forwards_of(item: dict[str, Any]) -> dict[str, str] | None:
    """The response options a stored reply is forwarded by, or None (not to be forwarded).
    Raises ValueError for an attribute that is not a JSON object."""
    stored = item.get(FORWARDS)
    if not stored:
        return None
    options = json.loads(stored)
    if not isinstance(options, dict):
        raise ValueError("a reply's Forwards is a JSON object")
    return {str(name): str(value) for name, value in options.items()}


def reply_webhook_id(reply_sid: str) -> str:
    """Stable per reply, so a retried reply webhook carries the same `webhook-id`."""
    return "msg_" + hashlib.sha256(f"reply:{reply_sid}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ForwardJob:
    """A CallbackQueue job that forwards one reply by SMS or e-mail."""

    kind: str
    reply: dict[str, Any]
    """The reply's resource (ReplySid, MessageSid, AccountSid, PropertySid, From, To, Text...)."""
    options: dict[str, str] = field(default_factory=dict)
    """The ResponseOptions of the message that routed the reply."""

    @property
    def reply_sid(self) -> str:
        return self.reply["ReplySid"]

    def to_json(self) -> str:
        return json.dumps(
            {"Kind": self.kind, "Reply": self.reply, "Options": self.options},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, body: str) -> ForwardJob:
        """Raises ValueError (or KeyError/TypeError) for a body that is not a forward job."""
        data = json.loads(body)
        kind = data["Kind"]
        if kind not in (FORWARD_SMS, FORWARD_EMAIL):
            raise ValueError(f"not a forward job: {kind}")
        reply, options = data["Reply"], data.get("Options") or {}
        if not isinstance(reply, dict) or not isinstance(options, dict):
            raise ValueError("a forward job needs a Reply and Options object")
        for name in ("ReplySid", "From", "To", "Text", "AccountSid", "PropertySid"):
            if not isinstance(reply.get(name), str):
                raise ValueError(f"a forward job's reply needs {name}")
        return cls(kind, reply, {str(k): str(v) for k, v in options.items()})


def job_kind(body: str) -> str | None:
    """The `Kind` of a CallbackQueue body (None for a receipt webhook, which has none)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("Kind") if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class Pointer:
    lease_id: str
    number: str
    expires_at: int
    slot: int
    date_created: str

    def renewed(
        self,
        *,
        recipient: str,
        account_sid: str,
        property_sid: str,
        expires_at: int,
        message_sid: str,
        response_options: dict[str, str] | None,
    ) -> Lease:
        """The lease this pointer names, renewed by a send."""
        return Lease(
            lease_id=self.lease_id,
            recipient=recipient,
            number=self.number,
            account_sid=account_sid,
            property_sid=property_sid,
            expires_at=expires_at,
            slot=self.slot,
            date_created=self.date_created,
            last_message_sid=message_sid,
            response_options=response_options,
        )


class Allocation(StrEnum):
    """How an allocation transaction ended."""

    ALLOCATED = "allocated"
    NUMBER_TAKEN = "number_taken"
    """The number has a live lease to this recipient (another account's or property's)."""
    POINTER_TAKEN = "pointer_taken"
    """The property got a lease to this recipient meanwhile: reuse it."""
    SLOT_TAKEN = "slot_taken"
    """Another send of this account took the slot meanwhile: choose again."""
    NUMBER_GONE = "number_gone"
    """The number left the pool (or this country) meanwhile."""
    CONFLICT = "conflict"
    """A concurrent transaction on the same items: try again."""


class MessageExists(Exception):
    """A leased send's message is stored already (a retried request or a redelivered job
    with the same MessageSid): its write changed nothing, and the lease changed, if at
    all, when that message was stored."""
