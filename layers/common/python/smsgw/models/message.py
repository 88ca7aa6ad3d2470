"""The Message: its stored shape, its public resource and its states."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from smsgw.explanations import public_text


class Status(StrEnum):
    """A message's status (the `Status` of the resource and the item). The members are
    their stored and public strings."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


SCHEDULED = Status.SCHEDULED
QUEUED = Status.QUEUED
SENDING = Status.SENDING
SENT = Status.SENT
DELIVERED = Status.DELIVERED
UNDELIVERED = Status.UNDELIVERED
FAILED = Status.FAILED
CANCELLED = Status.CANCELLED
REJECTED = Status.REJECTED

STATUSES: tuple[Status, ...] = tuple(Status)
FINAL_STATUSES = frozenset({DELIVERED, UNDELIVERED, FAILED, CANCELLED, REJECTED})


class SubmitState(StrEnum):
    """A claimed message's `SubmitState`: what became of its one carrier submission
    (docs/reliability.md)."""

    CLAIMED = "claimed"
    RETRYABLE = "retryable"
    UNKNOWN = "unknown"
    DONE = "done"


SUBMIT_CLAIMED = SubmitState.CLAIMED
SUBMIT_RETRYABLE = SubmitState.RETRYABLE
SUBMIT_UNKNOWN = SubmitState.UNKNOWN
SUBMIT_DONE = SubmitState.DONE

# Which states a message may move to a given state from: transitions only move forward.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    QUEUED: (SCHEDULED,),
    SENDING: (SCHEDULED, QUEUED),
    SENT: (SENDING,),
    DELIVERED: (SENDING, SENT),
    UNDELIVERED: (SENDING, SENT),
    FAILED: (SCHEDULED, QUEUED, SENDING, SENT),
    CANCELLED: (SCHEDULED, QUEUED),
    REJECTED: (),
}

RECEIPT_MOVED: tuple[Status, ...] = (SENT, DELIVERED, UNDELIVERED, FAILED)
"""The statuses a carrier receipt moves a `sending` message to: a claim found in one of
them was accepted by the carrier (`ClaimStore.record_accepted`)."""


def iso_now() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_from_epoch(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(timestamp: str) -> int | None:
    """`timestamp` (ISO, as `iso()` writes it) as Unix milliseconds; None for any other form."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    ms = (moment - _EPOCH) // timedelta(milliseconds=1)
    return ms if _iso_from_ms(ms) == timestamp else None


def _iso_from_ms(ms: int) -> str:
    return iso(_EPOCH + timedelta(milliseconds=ms))


# The stored form of an event: the same fields under one- or two-letter names, and its
# Timestamp as Unix milliseconds (8 bytes, not 24). A message's history is most of its
# item, and an item over 1 KB costs two write units on every update (docs/data-model.md).
_EVENT_NAMES = {
    "Status": "s",
    "Timestamp": "t",
    "Source": "o",
    "CarrierStatus": "cs",
    "CarrierSid": "ci",
    "CarrierErrorCode": "ce",
    "ErrorCode": "e",
    "Detail": "d",
    "Applied": "a",
    "Carrier": "ca",
}
_EVENT_FIELDS = {short: name for name, short in _EVENT_NAMES.items()}


def stored_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the message item keeps it (`event_from_store` reads it back)."""
    stored = {}
    for name, value in event.items():
        if name == "Timestamp" and (ms := _epoch_ms(value)) is not None:
            value = ms
        stored[_EVENT_NAMES.get(name, name)] = value
    return stored


def event_from_store(stored: dict[str, Any]) -> dict[str, Any]:
    """An event as stored, compact or (written before the compact form) as is."""
    event = {}
    for name, value in stored.items():
        name = _EVENT_FIELDS.get(name, name)
        if name == "Timestamp" and not isinstance(value, str):
            value = _iso_from_ms(int(value))
        event[name] = value
    return event


def _public(event: dict[str, Any]) -> dict[str, Any]:
    """An event as read: a Detail written before smsgw.explanations in its sentence."""
    if isinstance(event.get("Detail"), str):
        event["Detail"] = public_text(event["Detail"])
    return event


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the API speaks int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(slots=True)
class Message:
    message_sid: str
    account_sid: str
    property_sid: str
    sender: str | None
    sender_type: str
    to: str
    text: str | None
    """None once redacted (`redacted`)."""
    status: str
    segments: int
    encoding: str
    date_created: str
    schedule: int | None = None
    deliver_at: int | None = None
    external_id: str | None = None
    delivery_receipt: bool = True
    delivery_receipt_webhook_uri: str | None = None
    delivery_receipt_webhook_method: str = "POST"
    response_options: dict[str, str] | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_sent: str | None = None
    date_final: str | None = None
    carrier: str | None = None
    carrier_sid: str | None = None
    carrier_part_sids: list[str] | None = None
    claimed_at: int | None = None
    source: str = "api"
    events: list[dict[str, Any]] = field(default_factory=list)
    lease: dict[str, Any] | None = None
    validity_period: int | None = None
    valid_until: int | None = None
    """Unix seconds: not submitted from then on (DeliverAt + ValidityPeriod)."""
    redacted: bool = False
    """Its text (and its replies' text and its response options) removed on request."""

    _ATTRIBUTES = (
        ("message_sid", "MessageSid"),
        ("account_sid", "AccountSid"),
        ("property_sid", "PropertySid"),
        ("sender", "From"),
        ("sender_type", "SenderType"),
        ("to", "To"),
        ("text", "Text"),
        ("status", "Status"),
        ("segments", "Segments"),
        ("encoding", "Encoding"),
        ("date_created", "DateCreated"),
        ("schedule", "Schedule"),
        ("deliver_at", "DeliverAt"),
        ("external_id", "ExternalId"),
        ("delivery_receipt", "DeliveryReceipt"),
        ("delivery_receipt_webhook_uri", "DeliveryReceiptWebhookUri"),
        ("delivery_receipt_webhook_method", "DeliveryReceiptWebhookMethod"),
        ("response_options", "ResponseOptions"),
        ("error_code", "ErrorCode"),
        ("error_message", "ErrorMessage"),
        ("date_sent", "DateSent"),
        ("date_final", "DateFinal"),
        ("carrier", "Carrier"),
        ("carrier_sid", "CarrierSid"),
        ("carrier_part_sids", "CarrierPartSids"),
        ("claimed_at", "ClaimedAt"),
        ("source", "Source"),
        ("events", "Events"),
        ("lease", "Lease"),
        ("validity_period", "ValidityPeriod"),
        ("valid_until", "ValidUntil"),
        ("redacted", "Redacted"),
    )

    # Not stored when they have these values (the defaults).
    _DEFAULTS = {
        "delivery_receipt": True,
        "delivery_receipt_webhook_method": "POST",
        "source": "api",
        "redacted": False,
    }

    def to_attributes(self) -> dict[str, Any]:
        """The stored attributes (without keys), leaving out what is unset, what the key
        says and what is a default: every byte of the item is paid on each of its updates."""
        attributes = {
            name: value
            for attr, name in self._ATTRIBUTES
            if (value := getattr(self, attr)) is not None
            and attr != "message_sid"  # the item's key holds it
            and (attr not in self._DEFAULTS or value != self._DEFAULTS[attr])
        }
        attributes["Events"] = [stored_event(e) for e in self.events]
        return attributes

    @classmethod
    def from_attributes(cls, item: dict[str, Any]) -> Message:
        """A stored item (or its attributes with `MessageSid`) as a Message."""
        item = _plain(item)
        if "MessageSid" not in item:
            item["MessageSid"] = item["PK"].removeprefix("MESSAGE#")
        item.setdefault("From", None)  # a request rejected before it had one stores none
        item.setdefault("Text", None)  # a redacted message keeps none
        if "Events" in item:
            item["Events"] = [_public(event_from_store(e)) for e in item["Events"]]
        if isinstance(item.get("ErrorMessage"), str):
            item["ErrorMessage"] = public_text(item["ErrorMessage"])
        return cls(**{attr: item[name] for attr, name in cls._ATTRIBUTES if name in item})

    def may_have_carrier_sid(self, carrier_sid: str) -> bool:
        """Whether a receipt for `carrier_sid` may be this message's: its carrier id, one of
        its further parts' ids, or any while the sender has not recorded one yet."""
        return self.carrier_sid in (None, carrier_sid) or carrier_sid in (
            self.carrier_part_sids or ()
        )

    def expired(self, now: float) -> bool:
        """Whether the message's validity period has ended: it may no longer be submitted."""
        return self.valid_until is not None and now >= self.valid_until

    def validity_left(self, now: float) -> int | None:
        """Whole seconds (rounded up) until the validity period ends, for the carrier's own
        validity; None without one."""
        if self.valid_until is None:
            return None
        return max(0, math.ceil(self.valid_until - now))

    def to_resource(self) -> dict[str, Any]:
        """The public Message resource: the seed's fields first, then the product's."""
        return {
            "MessageSid": self.message_sid,
            "AccountSid": self.account_sid,
            "PropertySid": self.property_sid,
            "From": self.sender or "",
            "To": self.to,
            "Text": self.text,
            "Redacted": self.redacted,
            "Status": self.status,
            "Segments": self.segments,
            "Encoding": self.encoding,
            "Schedule": self.schedule,
            "ValidityPeriod": self.validity_period,
            "ExternalId": self.external_id,
            "DeliveryReceipt": self.delivery_receipt,
            "DeliveryReceiptWebhookUri": self.delivery_receipt_webhook_uri,
            "DeliveryReceiptWebhookMethod": self.delivery_receipt_webhook_method,
            "ErrorCode": self.error_code,
            "ErrorMessage": self.error_message,
            "DateCreated": self.date_created,
            "DateSent": self.date_sent,
            "DateFinal": self.date_final,
            "Lease": (
                {"Number": self.lease["Number"], "ExpiresAt": self.lease["ExpiresAt"]}
                if self.lease
                else None
            ),
            "Events": list(self.events),
        }
