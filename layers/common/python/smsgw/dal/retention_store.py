"""Properties with a retention period, and their messages past it, for the scheduler.

Keys (see docs/data-model.md):
  property with a retention  GSI3PK=RETENTION  GSI3SK=<PropertySid>  (sparse, keys only)
  its sweep's cursor         RetainedThrough on the property item: the GSI1SK
                             (`<DateCreated>#<MessageSid>`) of the last message handled
Messages are read in the order they were created, on the property's GSI1 timeline, from
the cursor to the cutoff: each pass reads only what it has not handled yet. A property
whose retention deletes messages (`RetentionDeletesMessages`) has each message deleted
with the items that are its alone: its webhook attempts (`CALLBACKS#<MessageSid>`) and
its carrier-id lookups (`CARRIERSID#…`, only for carriers whose receipts do not name it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key

from smsgw.dal.callback_store import PREFIX as CALLBACKS_PREFIX
from smsgw.dal.conditions import written
from smsgw.dal.message_store import message_key
from smsgw.models.message import Message
from smsgw.models.tenant import Retaining

RETENTION_PARTITION = "RETENTION"


def _property_key(property_sid: str) -> dict[str, str]:
    return {"PK": f"PROPERTY#{property_sid}", "SK": "PROPERTY"}


class RetentionStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def retaining(self) -> Iterator[Retaining]:
        """Each property with a retention period: its days, cursor and whether it deletes
        messages."""
        kwargs: dict[str, Any] = {
            "IndexName": "GSI3",
            "KeyConditionExpression": Key("GSI3PK").eq(RETENTION_PARTITION),
        }
        while True:
            page = self._table.query(**kwargs)
            for key in page["Items"]:
                item = self._table.get_item(
                    Key={"PK": key["PK"], "SK": key["SK"]},
                    ProjectionExpression=(
                        "PropertySid, RetentionDays, RetainedThrough, RetentionDeletesMessages"
                    ),
                ).get("Item")
                if item and "RetentionDays" in item:
                    yield Retaining(
                        item["PropertySid"],
                        int(item["RetentionDays"]),
                        item.get("RetainedThrough", ""),
                        bool(item.get("RetentionDeletesMessages", False)),
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

    def delete_message(self, message: Message, allowed: tuple[str, ...]) -> bool:
        """Delete `message`, if its status is still one of `allowed`: first the items that
        are its alone (webhook attempts, carrier-id lookups), then the message itself, so
        that a pass stopped halfway finds the message again and finishes. False when the
        message is gone already or its status is not one of `allowed` (the caller read it
        in one of them, and a settled status only moves on to another)."""
        sid = message.message_sid
        self._delete_partition(CALLBACKS_PREFIX + sid)
        if message.carrier and message.carrier_sid:
            for carrier_sid in (message.carrier_sid, *(message.carrier_part_sids or ())):
                self._forget_carrier_sid(message.carrier, carrier_sid, sid)
        values = {f":a{i}": status for i, status in enumerate(allowed)}
        return written(
            lambda: self._table.delete_item(
                Key=message_key(sid),
                ConditionExpression=f"attribute_exists(PK) AND #s IN ({', '.join(values)})",
                ExpressionAttributeNames={"#s": "Status"},
                ExpressionAttributeValues=values,
            )
        )

    def _delete_partition(self, partition: str) -> None:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(partition),
            "ProjectionExpression": "PK, SK",
        }
        while True:
            page = self._table.query(**kwargs)
            for key in page["Items"]:
                self._table.delete_item(Key={"PK": key["PK"], "SK": key["SK"]})
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _forget_carrier_sid(self, carrier: str, carrier_sid: str, message_sid: str) -> None:
        # Read first: the built-in carriers' receipts name the MessageSid, so no lookup
        # was stored for them, and a read costs a tenth of a delete's write unit.
        key = {"PK": f"CARRIERSID#{carrier}#{carrier_sid}", "SK": "CARRIERSID"}
        item = self._table.get_item(Key=key).get("Item")
        if item and item.get("MessageSid") == message_sid:
            self._table.delete_item(Key=key)
