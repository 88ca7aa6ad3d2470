"""The transactional outbox of receipt webhooks and reply forwards: the table's stream
(docs/webhooks.md).

Every write that gives a message its final status (a carrier receipt, the sender's refusal
or give-up, any writer to come) appears on the table's DynamoDB stream with the item's old
and new images. The notifier's stream event source filters the records (template.yaml,
`FinalStatuses`); Lambda's filter cannot compare the two images, so `job_for_change`
finishes the check here, on the record as dal/stream_records.py decodes it: the status
changed, and the message asked for a receipt webhook.
The job is the one the writers queued before: `CallbackJob.for_status` on the new image,
with the final status's own time, so the payload and `webhook-id` are what they were.

A reply is the same: the webhooks function stores it with the forwards it is due
(`Forwards`, the lease's response options when it arrived), and its insert on the stream
makes `forward_jobs_for_change` build the jobs that function queued before (SMS, e-mail,
reply webhook) from the stored item, so none is lost if the function ends after its write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smsgw.logic.replies import forward_jobs
from smsgw.models.callback import CallbackJob
from smsgw.models.lease import Reply, forwards_of
from smsgw.models.message import DELIVERED, FAILED, UNDELIVERED, Message

RECEIPT_WEBHOOK_STATUSES = (DELIVERED, UNDELIVERED, FAILED)
"""The final statuses a receipt webhook reports (docs/webhooks.md); the stream filter in
template.yaml lists the same. Cancelled and rejected messages were never sent: no receipt."""
MESSAGE_PREFIX = "MESSAGE#"
REPLIES_PREFIX = "LEASEREPLIES#"
"""The partition of a lease's replies (dal/reply_store.py); an unmatched reply's too, which
is never forwarded."""


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


def forward_jobs_for_change(change: StreamChange) -> list[Any]:
    """The CallbackQueue jobs that forward a reply just stored (`forward_sms`,
    `forward_email`, the `reply` webhook), built from the stored item and its `Forwards`
    exactly as the webhooks function built them from the lease; [] for any other change
    (not a reply's insert, or a reply with nothing to forward). Each is once-only however
    often the record is read: the SMS forward's MessageSid is derived from the reply, the
    e-mail has its claim, the webhook its stable `webhook-id`. Raises ValueError (or
    KeyError) for a reply item it cannot read."""
    if change.event_name != "INSERT" or not change.key.startswith(REPLIES_PREFIX):
        return []
    options = forwards_of(change.new_image)
    if not options:
        return []
    return forward_jobs(Reply.from_item(change.new_image), options)
