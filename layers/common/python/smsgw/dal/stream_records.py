"""DynamoDB stream records as the notifier's stream event source delivers them: the wire
format (typed attribute values) decoded, so the rule that reads them (logic/outbox.py)
sees items as the table's other readers do."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from smsgw.logic.outbox import StreamChange, forward_jobs_for_change, job_for_change
from smsgw.models.callback import CallbackJob

_deserializer = TypeDeserializer()


def _image(record: dict[str, Any], name: str) -> dict[str, Any]:
    image = (record.get("dynamodb") or {}).get(name) or {}
    return {key: _deserializer.deserialize(value) for key, value in image.items()}


def sequence_number(record: dict[str, Any]) -> str:
    """The record's position in its shard: the `itemIdentifier` of a batch item failure."""
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def item_key(record: dict[str, Any]) -> str:
    """The item's partition key as written (`MESSAGE#<sid>` for a message,
    `LEASEREPLIES#<LeaseId>` for a reply), or ''."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return str((keys.get("PK") or {}).get("S", ""))


def change_of(record: dict[str, Any]) -> StreamChange:
    old_status = (((record.get("dynamodb") or {}).get("OldImage") or {}).get("Status") or {}).get(
        "S"
    )
    return StreamChange(
        event_name=str(record.get("eventName", "")),
        key=item_key(record),
        old_status=old_status,
        new_image=_image(record, "NewImage"),
    )


def job_for_record(record: dict[str, Any]) -> CallbackJob | None:
    """The receipt webhook a stream record calls for, or None (logic/outbox.py)."""
    return job_for_change(change_of(record))


def forward_jobs_for_record(record: dict[str, Any]) -> list[Any]:
    """The jobs that forward the reply a stream record stored, or [] (logic/outbox.py)."""
    return forward_jobs_for_change(change_of(record))
