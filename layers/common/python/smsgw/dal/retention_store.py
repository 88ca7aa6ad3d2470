"""Properties with a retention period, and their messages past it, for the scheduler.

Keys (see docs/data-model.md):
  property with a retention  GSI3PK=RETENTION  GSI3SK=<PropertySid>  (sparse, keys only)
  its sweep's cursor         RetainedThrough on the property item: the GSI1SK
                             (`<DateCreated>#<MessageSid>`) of the last message handled
Messages are read in the order they were created, on the property's GSI1 timeline, from
the cursor to the cutoff: each pass reads only what it has not handled yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key

from smsgw.models.message import Message

RETENTION_PARTITION = "RETENTION"


def _property_key(property_sid: str) -> dict[str, str]:
    return {"PK": f"PROPERTY#{property_sid}", "SK": "PROPERTY"}


class RetentionStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def retaining(self) -> Iterator[tuple[str, int, str]]:
        """(PropertySid, RetentionDays, cursor) of each property with a retention period."""
        kwargs: dict[str, Any] = {
            "IndexName": "GSI3",
            "KeyConditionExpression": Key("GSI3PK").eq(RETENTION_PARTITION),
        }
        while True:
            page = self._table.query(**kwargs)
            for key in page["Items"]:
                item = self._table.get_item(
                    Key={"PK": key["PK"], "SK": key["SK"]},
                    ProjectionExpression="PropertySid, RetentionDays, RetainedThrough",
                ).get("Item")
                if item and "RetentionDays" in item:
                    yield (
                        item["PropertySid"],
                        int(item["RetentionDays"]),
                        item.get("RetainedThrough", ""),
                    )
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def created_between(
        self, property_sid: str, after: str, before: str, limit: int
    ) -> list[tuple[str, Message]]:
        """Up to `limit` of the property's messages whose timeline position (GSI1SK) is
        after `after` and before `before`, oldest first, with their positions."""
        condition = Key("GSI1PK").eq(f"PROPERTY#{property_sid}#SMS")
        condition &= Key("GSI1SK").between(after or " ", before)
        page = self._table.query(
            IndexName="GSI1", KeyConditionExpression=condition, Limit=limit + 1
        )
        found = []
        for key in page["Items"]:
            if key["GSI1SK"] in (after, before):
                continue
            item = self._table.get_item(Key={"PK": key["PK"], "SK": key["SK"]}).get("Item")
            if item:
                found.append((key["GSI1SK"], Message.from_attributes(item)))
            if len(found) == limit:
                break
        return found

    def advance(self, property_sid: str, cursor: str) -> None:
        """Remember that the property's messages up to `cursor` are handled."""
        self._table.update_item(
            Key=_property_key(property_sid),
            UpdateExpression="SET RetainedThrough = :c",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":c": cursor},
        )
