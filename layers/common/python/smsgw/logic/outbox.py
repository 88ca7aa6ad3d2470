"""The receipt webhooks' transactional outbox: the table's stream (docs/webhooks.md).

Every write that gives a message its final status (a carrier receipt, the sender's refusal
or give-up, any writer to come) appears on the table's DynamoDB stream with the item's old
and new images. The notifier's stream event source filters the records (template.yaml,
`FinalStatuses`); Lambda's filter cannot compare the two images, so `job_for_record`
finishes the check here: the status changed, and the message asked for a receipt webhook.
The job is the one the writers queued before: `CallbackJob.for_status` on the new image,
with the final status's own time, so the payload and `webhook-id` are what they were.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from smsgw.models.callback import CallbackJob
from smsgw.models.message import DELIVERED, FAILED, UNDELIVERED, Message

RECEIPT_WEBHOOK_STATUSES = (DELIVERED, UNDELIVERED, FAILED)
"""The final statuses a receipt webhook reports (docs/webhooks.md); the stream filter in
template.yaml lists the same. Cancelled and rejected messages were never sent: no receipt."""
MESSAGE_PREFIX = "MESSAGE#"

_deserializer = TypeDeserializer()


def _image(record: dict[str, Any], name: str) -> dict[str, Any]:
    image = (record.get("dynamodb") or {}).get(name) or {}
    return {key: _deserializer.deserialize(value) for key, value in image.items()}


def sequence_number(record: dict[str, Any]) -> str:
    """The record's position in its shard: the `itemIdentifier` of a batch item failure."""
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def item_key(record: dict[str, Any]) -> str:
    """The item's partition key as written (`MESSAGE#<sid>` for a message), or ''."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return str((keys.get("PK") or {}).get("S", ""))


def job_for_record(record: dict[str, Any]) -> CallbackJob | None:
    """The receipt webhook a stream record calls for, or None: not a message's update, its
    status did not change (a late or duplicate receipt, any other update), the status is
    not one a receipt reports, or the customer asked for no receipt webhook."""
    if record.get("eventName") != "MODIFY" or not item_key(record).startswith(MESSAGE_PREFIX):
        return None
    new = _image(record, "NewImage")
    status = new.get("Status")
    old_status = ((record["dynamodb"].get("OldImage") or {}).get("Status") or {}).get("S")
    if status not in RECEIPT_WEBHOOK_STATUSES or old_status == status:
        return None
    message = Message.from_attributes(new)  # DeliveryReceipt false: no job
    return CallbackJob.for_status(message, status, final_time(message, status))


def final_time(message: Message, status: str) -> str:
    """When the message reached `status`: `DateFinal`, which every final update sets to the
    time of the event it appends (a receipt's arrival, the carrier's refusal); else that
    event's own time."""
    if message.date_final:
        return message.date_final
    applied = [e for e in message.events if e.get("Status") == status and e.get("Applied", True)]
    return str(applied[-1]["Timestamp"]) if applied else ""
