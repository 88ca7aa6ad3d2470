"""Delivery receipts against messages: forward-only transitions, late receipts, lookups.

Keys (see docs/data-model.md):
  carrier id lookup  PK=CARRIERSID#<carrier>#<carrier sid>  SK=CARRIERSID   -> MessageSid
  unmatched receipt  PK=RECEIPT#<carrier>#<carrier sid>     SK=<received at>#<status>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed
from smsgw.models.carrier import Receipt
from smsgw.models.message import ALLOWED_FROM, Message, stored_event

UNMATCHED_TTL_SECONDS = 30 * 86400
_deserializer = TypeDeserializer()


def _message_key(message_sid: str) -> dict[str, str]:
    return {"PK": f"MESSAGE#{message_sid}", "SK": "MESSAGE"}


def _lookup_key(carrier: str, carrier_sid: str) -> dict[str, str]:
    return {"PK": f"CARRIERSID#{carrier}#{carrier_sid}", "SK": "CARRIERSID"}


@dataclass(frozen=True, slots=True)
class Applied:
    """What a receipt did to its message: `message` after the write, and whether the write
    changed its status (False: a late or duplicate receipt, recorded only)."""

    message: Message
    changed: bool


class ReceiptStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def remember_carrier_sid(self, carrier: str, carrier_sid: str, message_sid: str) -> None:
        """The carrier's id → our MessageSid, for receipts that do not name our sid."""
        self._table.put_item(
            Item={
                **_lookup_key(carrier, carrier_sid),
                "Type": "CarrierSid",
                "MessageSid": message_sid,
            }
        )

    def message_sid_for(self, carrier: str, carrier_sid: str) -> str | None:
        item = self._table.get_item(Key=_lookup_key(carrier, carrier_sid)).get("Item")
        return item["MessageSid"] if item else None

    def store_unmatched(
        self, carrier: str, receipt: Receipt, raw_status: str, received_at: str, now: float
    ) -> None:
        """Keep a receipt for a message we cannot find (30 days), for reconciliation."""
        self._table.put_item(
            Item={
                "PK": f"RECEIPT#{carrier}#{receipt.carrier_sid}",
                "SK": f"{received_at}#{receipt.status}",
                "Type": "UnmatchedReceipt",
                "Carrier": carrier,
                "CarrierSid": receipt.carrier_sid,
                "MessageSid": receipt.message_sid or "",
                "Status": receipt.status,
                "CarrierStatus": raw_status,
                "ErrorCode": receipt.error_code,
                "ReceivedAt": received_at,
                "ExpiresAt": int(now) + UNMATCHED_TTL_SECONDS,
            }
        )

    def apply(
        self,
        message_sid: str,
        carrier: str,
        carrier_sid: str,
        status: str,
        event: dict[str, Any],
        attributes: dict[str, Any],
    ) -> Applied | None:
        """Move the message to `status` if the state machine allows it (one conditional
        update, the event appended in it); otherwise append `event` as a late receipt without
        touching Status. None when there is no such message, or it belongs to another
        carrier id (a receipt must match the CarrierSid the sender recorded).

        A receipt proves the carrier took the message: one that finds no DateSent (the
        sender's outcome unknown, or not recorded yet) sets it to the receipt's Timestamp;
        the sender's own, when it records one, is the time the carrier accepted it."""
        names = {"#s": "Status", "#e": "Events"}
        values: dict[str, Any] = {
            ":s": status,
            ":e": [stored_event({**event, "Status": status})],
            ":cs": carrier_sid,
            ":c": carrier,
            ":t": event["Timestamp"],
        }
        sets = [
            "#s = :s",
            "#e = list_append(#e, :e)",
            "CarrierSid = if_not_exists(CarrierSid, :cs)",
            "Carrier = if_not_exists(Carrier, :c)",
            "DateSent = if_not_exists(DateSent, :t)",
        ]
        for index, (name, value) in enumerate(attributes.items()):
            names[f"#a{index}"] = name
            values[f":a{index}"] = value
            sets.append(f"#a{index} = :a{index}")
        allowed = []
        for index, state in enumerate(ALLOWED_FROM[status]):
            values[f":from{index}"] = state
            allowed.append(f":from{index}")
        try:
            result = self._table.update_item(
                Key=_message_key(message_sid),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=(
                    f"attribute_exists(PK) AND #s IN ({', '.join(allowed)}) "
                    "AND (attribute_not_exists(CarrierSid) OR CarrierSid = :cs OR contains(CarrierPartSids, :cs))"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            old = exc.response.get("Item")
            if not old:
                return None
            current = Message.from_attributes(
                {k: _deserializer.deserialize(v) for k, v in old.items()}
            )
            if not current.may_have_carrier_sid(carrier_sid):
                return None
            return self._record_late(current, carrier_sid, event)
        return Applied(Message.from_attributes(result["Attributes"]), changed=True)

    def _record_late(
        self, current: Message, carrier_sid: str, event: dict[str, Any]
    ) -> Applied | None:
        """Append a receipt that may not move the message (late, duplicate or out of order),
        conditional on the status it was judged against; re-judged if that moved meanwhile."""
        for _ in range(3):
            record = {**event, "Status": current.status, "Applied": False}
            try:
                result = self._table.update_item(
                    Key=_message_key(current.message_sid),
                    UpdateExpression="SET #e = list_append(#e, :e)",
                    ConditionExpression=(
                        "#s = :current AND (attribute_not_exists(CarrierSid) OR CarrierSid = :cs OR contains(CarrierPartSids, :cs))"
                    ),
                    ExpressionAttributeNames={"#s": "Status", "#e": "Events"},
                    ExpressionAttributeValues={
                        ":e": [stored_event(record)],
                        ":current": current.status,
                        ":cs": carrier_sid,
                    },
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                item = self._table.get_item(
                    Key=_message_key(current.message_sid), ConsistentRead=True
                ).get("Item")
                if not item:
                    return None
                current = Message.from_attributes(item)
                if not current.may_have_carrier_sid(carrier_sid):
                    return None
                continue
            return Applied(Message.from_attributes(result["Attributes"]), changed=False)
        return Applied(current, changed=False)
