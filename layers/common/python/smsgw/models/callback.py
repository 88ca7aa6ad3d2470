"""A customer webhook to deliver: built from a message's final status (from the table's
stream, logic/outbox.py) or a reply, and carried by CallbackQueue for its retries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from smsgw.models.message import FINAL_STATUSES, Message

PAYLOAD_FIELDS = (
    "MessageSid",
    "AccountSid",
    "PropertySid",
    "ExternalId",
    "From",
    "To",
    "Status",
    "ErrorCode",
    "ErrorMessage",
    "Timestamp",
    "IsFinal",
)

REPLY_PAYLOAD_FIELDS = ("ReplySid", "MessageSid", "AccountSid", "PropertySid", "From", "To", "Text")
RECEIPT = "receipt"
REPLY = "reply"


def webhook_id(message_sid: str, status: str) -> str:
    """Stable per status change: a redelivered job carries the same `webhook-id`, which the
    customer can use to ignore a duplicate."""
    return "msg_" + hashlib.sha256(f"{message_sid}:{status}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CallbackJob:
    webhook_id: str
    uri: str
    method: str
    payload: dict[str, Any]
    kind: str = RECEIPT
    """`receipt` (a delivery receipt) or `reply` (a reply on a lease, logic/replies.py)."""
    first_attempt: int = 1
    """The attempt number of the job's first receive from CallbackQueue: 2 for a receipt
    webhook whose first attempt was made from the table's stream (logic/outbox.py)."""

    @property
    def message_sid(self) -> str:
        return self.payload["MessageSid"]

    @property
    def property_sid(self) -> str:
        return self.payload["PropertySid"]

    @property
    def status(self) -> str:
        return self.payload.get("Status") or self.kind

    @classmethod
    def for_status(cls, message: Message, status: str, timestamp: str) -> CallbackJob | None:
        """The job for `message` having reached `status` at `timestamp` (the carrier's
        event), or None when the customer asked for no receipt webhook or `status` is not
        final: the webhook reports the delivery receipt, once per message (docs/webhooks.md)."""
        if not message.delivery_receipt or not message.delivery_receipt_webhook_uri:
            return None
        if status not in FINAL_STATUSES:
            return None
        payload = {
            "MessageSid": message.message_sid,
            "AccountSid": message.account_sid,
            "PropertySid": message.property_sid,
            "ExternalId": message.external_id,
            "From": message.sender or "",
            "To": message.to,
            "Status": status,
            "ErrorCode": message.error_code,
            "ErrorMessage": message.error_message,
            "Timestamp": timestamp,
            "IsFinal": status in FINAL_STATUSES,
        }
        return cls(
            webhook_id=webhook_id(message.message_sid, status),
            uri=message.delivery_receipt_webhook_uri,
            method=(message.delivery_receipt_webhook_method or "POST").upper(),
            payload=payload,
        )

    def to_json(self) -> str:
        body = {
            "WebhookId": self.webhook_id,
            "Uri": self.uri,
            "Method": self.method,
            "Payload": self.payload,
        }
        if self.kind != RECEIPT:
            body["Kind"] = self.kind
        if self.first_attempt != 1:
            body["FirstAttempt"] = self.first_attempt
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> CallbackJob:
        """Raises ValueError (or KeyError/TypeError) for a body that is not a job."""
        data = json.loads(body)
        payload = data["Payload"]
        kind = data.get("Kind", RECEIPT)
        fields = {RECEIPT: PAYLOAD_FIELDS, REPLY: REPLY_PAYLOAD_FIELDS}.get(kind)
        if fields is None:
            raise ValueError(f"unknown callback job kind {kind}")
        if not isinstance(payload, dict) or set(fields) - set(payload):
            raise ValueError("a callback job needs every payload field")
        method = str(data["Method"]).upper()
        if method not in ("POST", "GET"):
            raise ValueError(f"unsupported webhook method {method}")
        first_attempt = int(data.get("FirstAttempt", 1))
        if first_attempt < 1:
            raise ValueError(f"invalid first attempt {first_attempt}")
        return cls(str(data["WebhookId"]), str(data["Uri"]), method, payload, kind, first_attempt)
