"""Idempotency records for POST requests carrying an `Idempotency-Key` header.

  PK=IDEMPOTENCY#<AccountSid>#<PropertySid>#<sha256(key)>  SK=IDEMPOTENCY   ExpiresAt (TTL)
A record is claimed with a conditional write before any work starts and completed with the
response. It names the MessageSid the request creates, so a request whose first attempt
crashed (its lock window passed) is taken over and finishes the same message. Expiry is
decided by time in the condition; TTL only cleans up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from smsgw.dal.conditions import condition_failed

IN_PROGRESS = "in_progress"
COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    claimed: bool
    """True when this request now owns the key and must do the work."""
    message_sid: str
    body_hash: str
    state: str
    status_code: int | None = None
    response: dict[str, Any] | None = None


def _key(scope: str) -> dict[str, str]:
    return {"PK": f"IDEMPOTENCY#{scope}", "SK": "IDEMPOTENCY"}


class IdempotencyStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def claim(
        self, scope: str, body_hash: str, message_sid: str, *, now: int, ttl: int, lock: int
    ) -> IdempotencyRecord:
        """Claim `scope` (account, property and hashed key) for a request."""
        try:
            self._table.put_item(
                Item={
                    **_key(scope),
                    "MessageSid": message_sid,
                    "BodyHash": body_hash,
                    "State": IN_PROGRESS,
                    "LockedUntil": now + lock,
                    "ExpiresAt": now + ttl,
                },
                ConditionExpression="attribute_not_exists(PK) OR ExpiresAt <= :now",
                ExpressionAttributeValues={":now": now},
            )
            return IdempotencyRecord(True, message_sid, body_hash, IN_PROGRESS)
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        item = self._table.get_item(Key=_key(scope), ConsistentRead=True).get("Item") or {}
        record = IdempotencyRecord(
            claimed=False,
            message_sid=item.get("MessageSid", message_sid),
            body_hash=item.get("BodyHash", ""),
            state=item.get("State", IN_PROGRESS),
            status_code=int(item["StatusCode"]) if "StatusCode" in item else None,
            response=json.loads(item["Response"]) if "Response" in item else None,
        )
        stale = record.state == IN_PROGRESS and int(item.get("LockedUntil", 0)) <= now
        if stale and record.body_hash == body_hash and self._take_over(scope, item, now, lock):
            return IdempotencyRecord(True, record.message_sid, body_hash, IN_PROGRESS)
        return record

    def _take_over(self, scope: str, item: dict[str, Any], now: int, lock: int) -> bool:
        try:
            self._table.update_item(
                Key=_key(scope),
                UpdateExpression="SET LockedUntil = :until",
                ConditionExpression="#st = :progress AND LockedUntil = :seen",
                ExpressionAttributeNames={"#st": "State"},
                ExpressionAttributeValues={
                    ":until": now + lock,
                    ":progress": IN_PROGRESS,
                    ":seen": item["LockedUntil"],
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def complete(self, scope: str, status_code: int, response: dict[str, Any]) -> None:
        self._table.update_item(
            Key=_key(scope),
            UpdateExpression="SET #st = :done, StatusCode = :code, #r = :response",
            ExpressionAttributeNames={"#st": "State", "#r": "Response"},
            ExpressionAttributeValues={
                ":done": COMPLETE,
                ":code": status_code,
                ":response": json.dumps(response, separators=(",", ":")),
            },
        )

    def release(self, scope: str) -> None:
        """Forget a claim whose request failed, so the client may retry with the same key."""
        try:
            self._table.delete_item(
                Key=_key(scope),
                ConditionExpression="#st = :progress",
                ExpressionAttributeNames={"#st": "State"},
                ExpressionAttributeValues={":progress": IN_PROGRESS},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
