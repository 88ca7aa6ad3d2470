"""The receipt webhooks' transactional outbox: the table's stream (docs/webhooks.md).

Every write that gives a message its final status (a carrier receipt, the sender's refusal
or give-up, any writer to come) appears on the table's DynamoDB stream with the item's old
and new images. The notifier's stream event source filters the records (template.yaml,
`FinalStatuses`); Lambda's filter cannot compare the two images, so `job_for_change`
finishes the check here, on the record as dal/stream_records.py decodes it: the status
changed, and the message asked for a receipt webhook.
The job is the one the writers queued before: `CallbackJob.for_status` on the new image,
with the final status's own time, so the payload and `webhook-id` are what they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smsgw.models.callback import CallbackJob
from smsgw.models.message import DELIVERED, FAILED, UNDELIVERED, Message

RECEIPT_WEBHOOK_STATUSES = (DELIVERED, UNDELIVERED, FAILED)
"""The final statuses a receipt webhook reports (docs/webhooks.md); the stream filter in
template.yaml lists the same. Cancelled and rejected messages were never sent: no receipt."""
MESSAGE_PREFIX = "MESSAGE#"


@dataclass(frozen=True, slots=True)
class StreamChange:
    """One stream record, decoded (dal/stream_records.py)."""

    event_name: str
    """INSERT, MODIFY or REMOVE."""
    key: str
    """The item's partition key."""
    old_status: str | None
    new_image: dict[str, Any]


def job_for_change(change: StreamChange) -> CallbackJob | None:
    """The receipt webhook a change calls for, or None: not a message's update, its status
    did not change (a late or duplicate receipt, any other update), the status is not one a
    receipt reports, or the customer asked for no receipt webhook."""
    if change.event_name != "MODIFY" or not change.key.startswith(MESSAGE_PREFIX):
        return None
    status = change.new_image.get("Status")
    if status not in RECEIPT_WEBHOOK_STATUSES or change.old_status == status:
        return None
    message = Message.from_attributes(change.new_image)  # DeliveryReceipt false: no job
    return CallbackJob.for_status(message, status, final_time(message, status))


def final_time(message: Message, status: str) -> str:
    """When the message reached `status`: `DateFinal`, which every final update sets to the
    time of the event it appends (a receipt's arrival, the carrier's refusal); else that
    event's own time."""
    if message.date_final:
        return message.date_final
    applied = [e for e in message.events if e.get("Status") == status and e.get("Applied", True)]
    return str(applied[-1]["Timestamp"]) if applied else ""
