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

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed, written
from smsgw.dal.paging import batch_get
from smsgw.dal.schedule_store import waiting_keys
from smsgw.kernel.page_tokens import decode_page_token, encode_page_token
from smsgw.kernel.scheduling import recovery_time, shard_of
from smsgw.models.message import (
    ALLOWED_FROM,
    QUEUED,
    RECEIPT_MOVED,
    SCHEDULED,
    SUBMIT_CLAIMED,
    SUBMIT_DONE,
    SUBMIT_RETRYABLE,
    SUBMIT_UNKNOWN,
    Message,
    SubmitState,
    stored_event,
)


def _key(message_sid: str) -> dict[str, str]:
    return {"PK": f"MESSAGE#{message_sid}", "SK": "MESSAGE"}


def new_message_put(message: Message, wait_in_table: bool = False) -> dict[str, Any]:
    """The conditional Put that stores a new message: by itself (`create`) or inside a
    lease's transaction (dal/lease_store.py), so the two are written together.

    A message still to be claimed (queued or scheduled) is in the scheduler's waiting room:
    in the bucket of its DeliverAt when it waits in the table (`wait_in_table`), else in a
    later one (kernel/scheduling.recovery_time), from which the scheduler queues it again
    if its job never came (docs/reliability.md). The sender's claim removes the entry."""
    item = {
        **_key(message.message_sid),
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


def _set_attributes(
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
        item = self._table.get_item(Key=_key(message_sid), ConsistentRead=consistent).get("Item")
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
        _set_attributes(set_attributes, names, values, sets)
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
                Key=_key(message_sid), ReturnValues="ALL_NEW", **update
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


class ClaimStore(MessageStore):
    """The sender's side of a message: the claim that makes a carrier submission happen
    at most once.

    A claim moves the message to `sending` with SubmitState=claimed. Only a claim that
    ended in a definite refusal by the carrier (SubmitState=retryable) may be claimed
    again; a claim whose outcome is unknown never is.

    The claim itself is not indexed (an index entry would cost a write at the claim and
    another at the outcome, for every message). A message enters the unsettled index only
    when its outcome is unknown (`settle_claim`) or when a redelivered job finds its claim
    older than any live sender could hold it (`index_stale_claim`).
    """

    def claim(
        self, message_sid: str, event: dict[str, Any], now: int, *, due_by: int
    ) -> Message | None:
        """Claim a message that is due by `due_by` for one submission. None if it is not
        claimable (missing, not due, claimed, or done)."""
        return self._update_if(
            message_sid,
            UpdateExpression=(
                "SET #s = :sending, SubmitState = :claimed, ClaimedAt = :now, "
                "SubmitAttempts = if_not_exists(SubmitAttempts, :zero) + :one, "
                "#e = list_append(#e, :e) "
                # a scheduled message's SCHEDULE# keys: it has left the waiting room;
                # the carrier of an earlier attempt (released: none holds the message),
                # so a claim that ends without an outcome names the route's first carrier
                "REMOVE GSI3PK, GSI3SK, Carrier"
            ),
            ConditionExpression=(
                "attribute_exists(PK) "
                "AND (attribute_not_exists(DeliverAt) OR DeliverAt <= :due) "
                "AND (#s IN (:queued, :scheduled) "
                "OR (#s = :sending AND SubmitState = :retryable))"
            ),
            ExpressionAttributeNames={"#s": "Status", "#e": "Events"},
            ExpressionAttributeValues={
                ":sending": "sending",
                ":claimed": SUBMIT_CLAIMED,
                ":retryable": SUBMIT_RETRYABLE,
                ":queued": "queued",
                ":scheduled": "scheduled",
                ":now": now,
                ":due": due_by,
                ":zero": 0,
                ":one": 1,
                ":e": [stored_event(event)],
            },
        )

    def settle_claim(
        self,
        message_sid: str,
        submit_state: SubmitState,
        event: dict[str, Any],
        *,
        status: str | None = None,
        set_attributes: dict[str, Any] | None = None,
        now: int = 0,
    ) -> bool:
        """Record what became of a claim: the new SubmitState, optionally a new status. An
        unknown outcome enters the unsettled index as of `now` for reconciliation."""
        names = {"#s": "Status", "#e": "Events"}
        values: dict[str, Any] = {
            ":state": submit_state,
            ":claimed": SUBMIT_CLAIMED,
            ":sending": "sending",
            ":e": [stored_event(event)],
        }
        sets = ["SubmitState = :state", "#e = list_append(#e, :e)"]
        if status:
            values[":status"] = status
            sets.append("#s = :status")
        _set_attributes(set_attributes, names, values, sets)
        if submit_state == SUBMIT_UNKNOWN:
            sets.append("GSI3PK = :upk, GSI3SK = :usk")
            values.update(_unsettled_values(message_sid, now))
        return written(
            lambda: self._table.update_item(
                Key=_key(message_sid),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#s = :sending AND SubmitState = :claimed",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def record_accepted(self, message_sid: str, set_attributes: dict[str, Any]) -> bool:
        """Record the carrier's acceptance (its id, DateSent, ...) of a claim whose status a
        receipt moved on before the sender could record it: SubmitState done, the status and
        the history left as the receipts made them. False when it is not such a claim."""
        names = {"#s": "Status"}
        values: dict[str, Any] = {":done": SUBMIT_DONE, ":claimed": SUBMIT_CLAIMED}
        received = [f":r{index}" for index in range(len(RECEIPT_MOVED))]
        values.update(zip(received, RECEIPT_MOVED, strict=True))
        sets = ["SubmitState = :done"]
        _set_attributes(set_attributes, names, values, sets)
        return written(
            lambda: self._table.update_item(
                Key=_key(message_sid),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"SubmitState = :claimed AND #s IN ({', '.join(received)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def get_submit_state(self, message_sid: str) -> tuple[Message, str | None] | None:
        """The message and its SubmitState (consistent read); None if it does not exist."""
        item = self._table.get_item(Key=_key(message_sid), ConsistentRead=True).get("Item")
        if not item:
            return None
        return Message.from_attributes(item), item.get("SubmitState")

    def index_stale_claim(self, message_sid: str, claimed_at: int) -> bool:
        """Put a claim made at `claimed_at` whose sender is gone (the caller judged it
        stale) and that never recorded an outcome into the unsettled index, keyed by its
        ClaimedAt. False when it is no longer that claim, or is indexed already."""
        return written(
            lambda: self._table.update_item(
                Key=_key(message_sid),
                UpdateExpression="SET GSI3PK = :upk, GSI3SK = :usk",
                ConditionExpression=(
                    "#s = :sending AND SubmitState = :claimed AND ClaimedAt = :at "
                    "AND attribute_not_exists(GSI3PK)"
                ),
                ExpressionAttributeNames={"#s": "Status"},
                ExpressionAttributeValues={
                    ":sending": "sending",
                    ":claimed": SUBMIT_CLAIMED,
                    ":at": claimed_at,
                    **_unsettled_values(message_sid, claimed_at),
                },
            )
        )

    def unsettled(self, shard: int, claimed_before: int) -> Iterator[tuple[str, int]]:
        """(MessageSid, ClaimedAt) of the messages in one shard of the unsettled index
        claimed before `claimed_before` (Unix seconds)."""
        kwargs: dict[str, Any] = {
            "IndexName": "GSI3",
            "KeyConditionExpression": Key("GSI3PK").eq(f"{UNSETTLED_PREFIX}{shard}")
            & Key("GSI3SK").lt(f"{claimed_before:012d}"),
        }
        while True:
            page = self._table.query(**kwargs)
            for item in page["Items"]:
                claimed_at, _, sid = item["GSI3SK"].partition("#")
                yield sid, int(claimed_at)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def reconciled(
        self, message_sid: str, event: dict[str, Any], set_attributes: dict[str, Any]
    ) -> bool:
        """A claim of unknown outcome found at the carrier: `sent`, SubmitState done, out
        of the unsettled index. False when it is no longer unsettled and sending."""
        names = {"#s": "Status", "#e": "Events"}
        values: dict[str, Any] = {
            ":sent": "sent",
            ":sending": "sending",
            ":done": SUBMIT_DONE,
            ":unknown": SUBMIT_UNKNOWN,
            ":claimed": SUBMIT_CLAIMED,
            ":e": [stored_event(event)],
        }
        sets = ["#s = :sent", "SubmitState = :done", "#e = list_append(#e, :e)"]
        _set_attributes(set_attributes, names, values, sets)
        return written(
            lambda: self._table.update_item(
                Key=_key(message_sid),
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE GSI3PK, GSI3SK",
                ConditionExpression="#s = :sending AND SubmitState IN (:unknown, :claimed)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def forget_unsettled(self, message_sid: str, event: dict[str, Any] | None = None) -> None:
        """Take a message out of the unsettled index (settled by a receipt meanwhile, or
        given up on), appending `event` when given; the status is not touched."""
        names = {}
        values: dict[str, Any] = {":prefix": UNSETTLED_PREFIX}
        update = "REMOVE GSI3PK, GSI3SK"
        if event is not None:
            names["#e"] = "Events"
            values[":e"] = [stored_event(event)]
            update = "SET #e = list_append(#e, :e) " + update
        try:
            self._table.update_item(
                Key=_key(message_sid),
                UpdateExpression=update,
                ConditionExpression="begins_with(GSI3PK, :prefix)",
                ExpressionAttributeValues=values,
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise


UNSETTLED_PREFIX = "UNSETTLED#"


def _unsettled_values(message_sid: str, claimed_at: int) -> dict[str, str]:
    return {
        ":upk": f"{UNSETTLED_PREFIX}{shard_of(message_sid)}",
        ":usk": f"{claimed_at:012d}#{message_sid}",
    }
