"""The waiting room of scheduled messages and the scheduler's cursor.

waiting message  GSI3PK=SCHEDULE#<bucket>#<shard>  GSI3SK=<DeliverAt:012d>#<MessageSid>
                 (sparse keys on the message item itself; removed when it is claimed or
                 cancelled). A message queued on SendQueue has the same entry in a later
                 bucket (kernel/scheduling.recovery_time): if it is still unclaimed then,
                 the scheduler queues it again.
cursor           PK=SCHEDULER  SK=CURSOR  Bucket (last bucket released), LeaseUntil, Owner
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed
from smsgw.dal.paging import query_items
from smsgw.kernel.scheduling import bucket_of, shard_of

_CURSOR_KEY = {"PK": "SCHEDULER", "SK": "CURSOR"}


def waiting_keys(
    message_sid: str, deliver_at: int, bucket_time: int | None = None
) -> dict[str, str]:
    """The index keys that put a message in its bucket and shard: the bucket of
    `bucket_time` (a recovery entry's, kernel/scheduling.recovery_time), else of
    `deliver_at`; the sort key is always when it is due."""
    bucket = bucket_of(deliver_at if bucket_time is None else bucket_time)
    return {
        "GSI3PK": f"SCHEDULE#{bucket}#{shard_of(message_sid)}",
        "GSI3SK": f"{deliver_at:012d}#{message_sid}",
    }


class ScheduleStore:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._created_at: int | None = None

    def created_at(self) -> int:
        """When the table was created (epoch seconds), read once per store: it never
        changes."""
        if self._created_at is None:
            described = self._table.meta.client.describe_table(TableName=self._table.name)
            self._created_at = int(described["Table"]["CreationDateTime"].timestamp())
        return self._created_at

    def waiting(self, bucket: int, shard: int) -> Iterator[tuple[str, int]]:
        """(MessageSid, DeliverAt) of every message waiting in one bucket's shard."""
        for item in query_items(
            self._table,
            IndexName="GSI3",
            KeyConditionExpression=Key("GSI3PK").eq(f"SCHEDULE#{bucket}#{shard}"),
        ):
            deliver_at, _, sid = item["GSI3SK"].partition("#")
            yield sid, int(deliver_at)

    def acquire(self, owner: str, now: int, lease_seconds: int, first: int) -> int | None:
        """Take the cursor's lease; the last bucket released, or None when another tick
        holds the lease. A cursor that has none records `first` as its last bucket, so a
        first tick that dies leaves the next one the same start."""
        try:
            result = self._table.update_item(
                Key=_CURSOR_KEY,
                UpdateExpression=(
                    "SET LeaseUntil = :until, #o = :owner, #b = if_not_exists(#b, :first)"
                ),
                ConditionExpression="attribute_not_exists(LeaseUntil) OR LeaseUntil < :now",
                ExpressionAttributeNames={"#o": "Owner", "#b": "Bucket"},
                ExpressionAttributeValues={
                    ":until": now + lease_seconds,
                    ":owner": owner,
                    ":now": now,
                    ":first": first,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return int(result["Attributes"]["Bucket"])

    def advance(self, owner: str, bucket: int) -> bool:
        """Record `bucket` as released, while this tick still holds the lease."""
        try:
            self._table.update_item(
                Key=_CURSOR_KEY,
                UpdateExpression="SET #b = :bucket",
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "Owner", "#b": "Bucket"},
                ExpressionAttributeValues={":bucket": bucket, ":owner": owner},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release(self, owner: str) -> None:
        try:
            self._table.update_item(
                Key=_CURSOR_KEY,
                UpdateExpression="REMOVE LeaseUntil, #o",
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "Owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
