"""Messages and their event history.

Keys (see docs/data-model.md):
  message  PK=MESSAGE#<MessageSid>  SK=MESSAGE
           GSI1PK=PROPERTY#<PropertySid>#SMS              GSI1SK=<DateCreated>#<MessageSid>
           GSI2PK=PROPERTY#<PropertySid>#EXT#<ExternalId>  (sorted by GSI1SK too)
  unsettled (sparse: an unknown outcome, or a claim whose sender died; docs/reliability.md)
           GSI3PK=UNSETTLED#<shard>  GSI3SK=<ClaimedAt:012d>#<MessageSid>
The event history is a list on the message item, appended in the same conditional update
that changes the status, so a transition and its record can never part.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed, written
from smsgw.dal.paging import batch_get
from smsgw.dal.schedule_store import waiting_keys
from smsgw.kernel.page_tokens import decode_page_token, encode_page_token
from smsgw.kernel.scheduling import recovery_time
from smsgw.models.message import (
    ALLOWED_FROM,
    QUEUED,
    SCHEDULED,
    Message,
    stored_event,
)


def message_key(message_sid: str) -> dict[str, str]:
    return {"PK": f"MESSAGE#{message_sid}", "SK": "MESSAGE"}


def new_message_put(message: Message, wait_in_table: bool = False) -> dict[str, Any]:
    """The conditional Put that stores a new message: by itself (`create`) or inside a
    lease's transaction (dal/lease_store.py), so the two are written together.

    A message still to be claimed (queued or scheduled) is in the scheduler's waiting room:
    in the bucket of its DeliverAt when it waits in the table (`wait_in_table`), else in a
    later one (kernel/scheduling.recovery_time), from which the scheduler queues it again
    if its job never came (docs/reliability.md). The sender's claim removes the entry."""
    item = {
        **message_key(message.message_sid),
        "Type": "Message",
        "GSI1PK": f"PROPERTY#{message.property_sid}#SMS",
        "GSI1SK": f"{message.date_created}#{message.message_sid}",
        **message.to_attributes(),
    }
    if message.external_id:
        item["GSI2PK"] = f"PROPERTY#{message.property_sid}#EXT#{message.external_id}"
    if message.status in (QUEUED, SCHEDULED) and message.deliver_at is not None:
        deliver_at = int(message.deliver_at)
        later = None if wait_in_table else recovery_time(deliver_at)
        item.update(waiting_keys(message.message_sid, deliver_at, later))
    return {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}


def add_set_clauses(
    attributes: dict[str, Any] | None, names: dict, values: dict, sets: list[str]
) -> None:
    """Add `SET name = value` clauses for arbitrary attributes to an update expression."""
    for index, (name, value) in enumerate((attributes or {}).items()):
        names[f"#a{index}"] = name
        values[f":a{index}"] = value
        sets.append(f"#a{index} = :a{index}")


class MessageStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, message: Message, *, wait_in_table: bool = False) -> bool:
        """Store a new message. False if one with this MessageSid already exists.

        `wait_in_table`: a scheduled message waits for the scheduler (new_message_put)."""
        return written(lambda: self._table.put_item(**new_message_put(message, wait_in_table)))

    def get(self, message_sid: str, *, consistent: bool = False) -> Message | None:
        item = self._table.get_item(Key=message_key(message_sid), ConsistentRead=consistent).get(
            "Item"
        )
        return Message.from_attributes(item) if item else None

    def transition(
        self,
        message_sid: str,
        status: str,
        event: dict[str, Any],
        *,
        allowed_from: tuple[str, ...] | None = None,
        set_attributes: dict[str, Any] | None = None,
        remove_attributes: tuple[str, ...] = (),
    ) -> Message | None:
        """Move a message to `status` only from the states allowed by the state machine,
        appending `event` to its history in the same write. None if the message is not in
        an allowed state (or does not exist): the caller reads it to learn why."""
        allowed = allowed_from if allowed_from is not None else ALLOWED_FROM[status]
        names = {"#s": "Status", "#e": "Events"}
        values: dict[str, Any] = {":s": status, ":e": [stored_event(event)]}
        sets = ["#s = :s", "#e = list_append(#e, :e)"]
        add_set_clauses(set_attributes, names, values, sets)
        conditions = []
        for index, state in enumerate(allowed):
            values[f":from{index}"] = state
            conditions.append(f":from{index}")
        if not conditions:
            return None
        return self._update_if(
            message_sid,
            UpdateExpression="SET "
            + ", ".join(sets)
            + (" REMOVE " + ", ".join(remove_attributes) if remove_attributes else ""),
            ConditionExpression=f"attribute_exists(PK) AND #s IN ({', '.join(conditions)})",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def redact(
        self, message_sid: str, event: dict[str, Any], final: tuple[str, ...]
    ) -> Message | None:
        """Remove the message's text and response options, mark it `Redacted` and append
        `event`, in one update conditional on its status being one of `final` and on its
        not being redacted already. None when that does not hold (or there is no message):
        the caller reads it to learn why. The status is not changed."""
        names = {"#s": "Status", "#e": "Events", "#r": "Redacted"}
        values: dict[str, Any] = {":e": [stored_event(event)], ":r": True}
        for index, state in enumerate(final):
            values[f":f{index}"] = state
        return self._update_if(
            message_sid,
            UpdateExpression="SET #r = :r, #e = list_append(#e, :e) REMOVE #t, ResponseOptions",
            ConditionExpression=(
                f"attribute_exists(PK) AND #s IN ({', '.join(f':f{i}' for i in range(len(final)))})"
                " AND attribute_not_exists(#r)"
            ),
            ExpressionAttributeNames={**names, "#t": "Text"},
            ExpressionAttributeValues=values,
        )

    def _update_if(self, message_sid: str, **update: Any) -> Message | None:
        """The message after a conditional update; None when its condition does not hold."""
        try:
            result = self._table.update_item(
                Key=message_key(message_sid), ReturnValues="ALL_NEW", **update
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return Message.from_attributes(result["Attributes"])

    def list(
        self,
        property_sid: str,
        *,
        external_id: str | None = None,
        to: str | None = None,
        status: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> tuple[list[Message], str | None]:
        """Newest first. Filters on To and Status apply within the property's timeline
        (or within the ExternalId index when that is given)."""
        if external_id:
            index, partition = "GSI2", f"PROPERTY#{property_sid}#EXT#{external_id}"
        else:
            index, partition = "GSI1", f"PROPERTY#{property_sid}#SMS"
        pk_name = f"{index}PK"
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(pk_name).eq(partition),
            "ScanIndexForward": False,
        }
        wanted = {name: value for name, value in (("To", to), ("Status", status)) if value}
        start_key = decode_page_token(page_token, pk_name, partition) if page_token else None
        messages: list[Message] = []
        # The index holds keys only: read each page's items from the table, then filter.
        while len(messages) < page_size:
            kwargs["Limit"] = min(100, page_size - len(messages) if not wanted else page_size * 2)
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            page = self._table.query(**kwargs)
            found = batch_get(self._table, [{"PK": k["PK"], "SK": k["SK"]} for k in page["Items"]])
            for key in page["Items"]:
                start_key = {k: key[k] for k in ("PK", "SK", f"{index}PK", "GSI1SK")}
                item = found.get((key["PK"], key["SK"]))
                if item and all(item.get(name) == value for name, value in wanted.items()):
                    messages.append(Message.from_attributes(item))
                    if len(messages) == page_size:
                        break
            else:
                start_key = page.get("LastEvaluatedKey")
            if not start_key:
                break
        next_token = encode_page_token(start_key) if start_key and messages else None
        return messages, next_token
