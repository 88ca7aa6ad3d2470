"""The sender's side of a message: its submission claim, and the unsettled index of the
claims whose outcome is unknown (docs/reliability.md).

Keys (see docs/data-model.md): the message item of dal/message_store.py, and
  unsettled (sparse: an unknown outcome, or a claim whose sender died)
           GSI3PK=UNSETTLED#<shard>  GSI3SK=<ClaimedAt:012d>#<MessageSid>
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed, written
from smsgw.dal.message_store import MessageStore, add_set_clauses, message_key
from smsgw.kernel.scheduling import shard_of
from smsgw.models.message import (
    RECEIPT_MOVED,
    SUBMIT_CLAIMED,
    SUBMIT_DONE,
    SUBMIT_RETRYABLE,
    SUBMIT_UNKNOWN,
    Message,
    SubmitState,
    stored_event,
)
from smsgw.models.send_job import ClaimAttempt

_DESERIALIZE = TypeDeserializer()


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
    ) -> ClaimAttempt:
        """Claim a message that is due by `due_by` for one submission. When it is not
        claimable (missing, not due, claimed, or done), the refused write answers with
        the message as it stands (a strongly consistent view: the condition was checked
        on it), so a redelivered job costs no read."""
        try:
            result = self._table.update_item(
                Key=message_key(message_sid),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
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
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            item = exc.response.get("Item")
            if not item:
                return ClaimAttempt(None)
            current = {k: _DESERIALIZE.deserialize(v) for k, v in item.items()}
            return ClaimAttempt(None, Message.from_attributes(current), current.get("SubmitState"))
        return ClaimAttempt(Message.from_attributes(result["Attributes"]))

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
        add_set_clauses(set_attributes, names, values, sets)
        if submit_state == SUBMIT_UNKNOWN:
            sets.append("GSI3PK = :upk, GSI3SK = :usk")
            values.update(_unsettled_values(message_sid, now))
        return written(
            lambda: self._table.update_item(
                Key=message_key(message_sid),
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
        add_set_clauses(set_attributes, names, values, sets)
        return written(
            lambda: self._table.update_item(
                Key=message_key(message_sid),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"SubmitState = :claimed AND #s IN ({', '.join(received)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def get_submit_state(self, message_sid: str) -> tuple[Message, str | None] | None:
        """The message and its SubmitState (consistent read); None if it does not exist."""
        item = self._table.get_item(Key=message_key(message_sid), ConsistentRead=True).get("Item")
        if not item:
            return None
        return Message.from_attributes(item), item.get("SubmitState")

    def index_stale_claim(self, message_sid: str, claimed_at: int) -> bool:
        """Put a claim made at `claimed_at` whose sender is gone (the caller judged it
        stale) and that never recorded an outcome into the unsettled index, keyed by its
        ClaimedAt. False when it is no longer that claim, or is indexed already."""
        return written(
            lambda: self._table.update_item(
                Key=message_key(message_sid),
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
        add_set_clauses(set_attributes, names, values, sets)
        return written(
            lambda: self._table.update_item(
                Key=message_key(message_sid),
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
                Key=message_key(message_sid),
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
