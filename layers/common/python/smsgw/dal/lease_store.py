"""Leases of pool numbers to recipients, and opt-outs.

Keys (see docs/data-model.md and docs/leases.md):
  lease    PK=LEASE#<recipient>#<number>             SK=LEASE
  pointer  PK=LEASEREF#<PropertySid>#<recipient>     SK=LEASEREF     (the property's lease to R)
  slot     PK=LEASESLOT#<AccountSid>#<recipient>     SK=SLOT#<1..5>  (the account's 5 slots for R)
  opt-out  PK=OPTOUT#<AccountSid>#<recipient>        SK=OPTOUT
A lease, its pointer and its slot are written in one transaction, each conditional on the
item being absent or expired (`ExpiresAt <= now`), and carry the same ExpiresAt and LeaseId.
Expiry is decided by time in the conditions; DynamoDB TTL only deletes expired items later.
A send's message, when given, is put in the same transaction as the lease's change
(allocation or renewal), so the lease never names a message that was not stored.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from smsgw.dal.message_store import new_message_put
from smsgw.models.lease import (
    MAX_LEASES_PER_RECIPIENT,
    Allocation,
    Lease,
    MessageExists,
    Pointer,
)
from smsgw.models.message import Message

FREE = "attribute_not_exists(PK) OR ExpiresAt <= :now"


def lease_key(recipient: str, number: str) -> dict[str, str]:
    return {"PK": f"LEASE#{recipient}#{number}", "SK": "LEASE"}


def pointer_key(property_sid: str, recipient: str) -> dict[str, str]:
    return {"PK": f"LEASEREF#{property_sid}#{recipient}", "SK": "LEASEREF"}


def slot_key(account_sid: str, recipient: str, slot: int) -> dict[str, str]:
    return {"PK": f"LEASESLOT#{account_sid}#{recipient}", "SK": f"SLOT#{slot}"}


def optout_key(account_sid: str, recipient: str) -> dict[str, str]:
    return {"PK": f"OPTOUT#{account_sid}#{recipient}", "SK": "OPTOUT"}


class LeaseStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    # --- reads (hints for the conditional writes, never decisions) ---------------------

    def get(self, recipient: str, number: str, *, consistent: bool = True) -> Lease | None:
        """The lease item of (recipient, number), live or expired."""
        item = self._table.get_item(
            Key=lease_key(recipient, number), ConsistentRead=consistent
        ).get("Item")
        return Lease.from_item(item) if item else None

    def pointer(self, property_sid: str, recipient: str) -> Pointer | None:
        item = self._table.get_item(
            Key=pointer_key(property_sid, recipient), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return Pointer(
            item["LeaseId"],
            item["Number"],
            int(item["ExpiresAt"]),
            int(item["Slot"]),
            item.get("DateCreated", ""),
        )

    def free_slots(self, account_sid: str, recipient: str, now: int) -> list[int]:
        """The account's slots for `recipient` that hold no live lease, lowest first."""
        page = self._table.query(
            KeyConditionExpression=Key("PK").eq(f"LEASESLOT#{account_sid}#{recipient}"),
            ConsistentRead=True,
        )
        live = {
            int(item["SK"].removeprefix("SLOT#"))
            for item in page["Items"]
            if int(item["ExpiresAt"]) > now
        }
        return [s for s in range(1, MAX_LEASES_PER_RECIPIENT + 1) if s not in live]

    def live_numbers(self, recipient: str, numbers: list[str], now: int) -> set[str]:
        """Which of `numbers` have a live lease to `recipient` (one BatchGetItem per 100)."""
        taken: set[str] = set()
        client = self._table.meta.client
        for start in range(0, len(numbers), 100):
            keys = [lease_key(recipient, n) for n in numbers[start : start + 100]]
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": keys,
                    "ProjectionExpression": "#n, ExpiresAt",
                    "ExpressionAttributeNames": {"#n": "Number"},
                }
            }
            while request:
                result = client.batch_get_item(RequestItems=request)
                for item in result["Responses"].get(self._table.name, []):
                    if int(item["ExpiresAt"]) > now:
                        taken.add(item["Number"])
                request = result.get("UnprocessedKeys") or {}
        return taken

    # --- writes -------------------------------------------------------------------------

    def allocate(
        self,
        lease: Lease,
        country: str,
        now: int,
        message: Message | None = None,
        *,
        wait_in_table: bool = False,
    ) -> Allocation:
        """Take `lease.number` for `lease.recipient` in one transaction: the lease, the
        property's pointer and the account's slot, each only if absent or expired, and only
        while the number is in the pool for `country`; and `message`, the send's, only if
        it is new. One of the outcomes above; raises MessageExists (nothing written)."""
        values = {":now": now}
        common = {"ConditionExpression": FREE, "ExpressionAttributeValues": values}
        name = self._table.name
        shared = {"LeaseId": lease.lease_id, "ExpiresAt": lease.expires_at}
        lease_item = {
            **lease_key(lease.recipient, lease.number),
            "Type": "Lease",
            **shared,
            "Recipient": lease.recipient,
            "Number": lease.number,
            "AccountSid": lease.account_sid,
            "PropertySid": lease.property_sid,
            "Slot": lease.slot,
            "DateCreated": lease.date_created,
        }
        if lease.last_message_sid:
            lease_item["LastMessageSid"] = lease.last_message_sid
        if lease.response_options:
            lease_item["ResponseOptions"] = lease.response_options
        writes = [
            {"Put": {"TableName": name, "Item": lease_item, **common}},
            {
                "Put": {
                    "TableName": name,
                    "Item": {
                        **pointer_key(lease.property_sid, lease.recipient),
                        "Type": "LeasePointer",
                        **shared,
                        "Number": lease.number,
                        "Slot": lease.slot,
                        "DateCreated": lease.date_created,
                    },
                    **common,
                }
            },
            {
                "Put": {
                    "TableName": name,
                    "Item": {
                        **slot_key(lease.account_sid, lease.recipient, lease.slot),
                        "Type": "LeaseSlot",
                        **shared,
                        "Number": lease.number,
                        "PropertySid": lease.property_sid,
                    },
                    **common,
                }
            },
            {
                "ConditionCheck": {
                    "TableName": name,
                    "Key": {"PK": f"POOL#{lease.number}", "SK": f"COUNTRY#{country}"},
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
        ]
        try:
            self._transact(writes, message, wait_in_table)
        except ClientError as exc:
            return _cancelled(
                exc,
                (
                    Allocation.NUMBER_TAKEN,
                    Allocation.POINTER_TAKEN,
                    Allocation.SLOT_TAKEN,
                    Allocation.NUMBER_GONE,
                ),
            )
        return Allocation.ALLOCATED

    def renew(
        self,
        pointer: Pointer,
        property_sid: str,
        recipient: str,
        account_sid: str,
        expires_at: int,
        message_sid: str,
        response_options: dict[str, str] | None,
        now: int,
        message: Message | None = None,
        *,
        wait_in_table: bool = False,
    ) -> Lease | None:
        """Extend the property's live lease to `expires_at` and make `message_sid` its
        latest message, in one transaction conditional on the lease still being that live
        lease, with `message` (the send's, stored only if new). None when the lease is not
        (expired or taken over meanwhile); raises MessageExists (nothing written)."""
        name = self._table.name
        lease_update: dict[str, Any] = {
            "TableName": name,
            "Key": lease_key(recipient, pointer.number),
            "UpdateExpression": "SET ExpiresAt = :exp, LastMessageSid = :m",
            "ConditionExpression": "LeaseId = :lid AND PropertySid = :p AND ExpiresAt > :now",
            "ExpressionAttributeValues": {
                ":exp": expires_at,
                ":m": message_sid,
                ":lid": pointer.lease_id,
                ":p": property_sid,
                ":now": now,
            },
        }
        if response_options:
            lease_update["UpdateExpression"] += ", ResponseOptions = :o"
            lease_update["ExpressionAttributeValues"][":o"] = response_options
        else:
            lease_update["UpdateExpression"] += " REMOVE ResponseOptions"
        same = {
            "UpdateExpression": "SET ExpiresAt = :exp",
            "ConditionExpression": "LeaseId = :lid",
            "ExpressionAttributeValues": {":exp": expires_at, ":lid": pointer.lease_id},
        }
        writes = [
            {"Update": lease_update},
            {"Update": {"TableName": name, "Key": pointer_key(property_sid, recipient), **same}},
            {
                "Update": {
                    "TableName": name,
                    "Key": slot_key(account_sid, recipient, pointer.slot),
                    **same,
                }
            },
        ]
        try:
            self._transact(writes, message, wait_in_table)
        except ClientError as exc:
            _cancelled(exc, ())
            return None
        return pointer.renewed(
            recipient=recipient,
            account_sid=account_sid,
            property_sid=property_sid,
            expires_at=expires_at,
            message_sid=message_sid,
            response_options=response_options,
        )

    def _transact(
        self, writes: list[dict[str, Any]], message: Message | None, wait_in_table: bool
    ) -> None:
        """Write the lease's items, with the send's message last when there is one. Raises
        MessageExists when the message's condition failed: a message stored already wins
        over every other reason, since its send has been done."""
        if message is not None:
            put = new_message_put(message, wait_in_table)
            writes = [*writes, {"Put": {"TableName": self._table.name, **put}}]
        try:
            self._table.meta.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if (
                message is not None
                and len(reasons) == len(writes)
                and reasons[-1].get("Code") == "ConditionalCheckFailed"
            ):
                raise MessageExists(message.message_sid) from exc
            raise

    # --- opt-outs -----------------------------------------------------------------------

    def is_opted_out(self, account_sid: str, recipient: str) -> bool:
        return "Item" in self._table.get_item(
            Key=optout_key(account_sid, recipient), ProjectionExpression="PK"
        )

    def opt_out(self, account_sid: str, recipient: str, stamp: str, reply_sid: str) -> None:
        self._table.put_item(
            Item={
                **optout_key(account_sid, recipient),
                "Type": "OptOut",
                "AccountSid": account_sid,
                "Recipient": recipient,
                "DateCreated": stamp,
                "ReplySid": reply_sid,
            }
        )

    def opt_in(self, account_sid: str, recipient: str) -> None:
        self._table.delete_item(Key=optout_key(account_sid, recipient))


def _cancelled(exc: ClientError, reasons_by_index: tuple[Allocation, ...]) -> Allocation:
    """The outcome named by the first failed condition of a cancelled transaction."""
    code = exc.response["Error"]["Code"]
    if code == "TransactionConflictException":
        return Allocation.CONFLICT
    if code != "TransactionCanceledException":
        raise exc
    reasons = exc.response.get("CancellationReasons") or []
    for index, reason in enumerate(reasons):
        if reason.get("Code") == "ConditionalCheckFailed" and index < len(reasons_by_index):
            return reasons_by_index[index]
    return Allocation.CONFLICT
