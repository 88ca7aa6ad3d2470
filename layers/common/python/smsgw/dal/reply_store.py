"""Replies (inbound SMS on a leased number) and the once-only record of their forwards.

Keys (see docs/data-model.md):
  reply            PK=LEASEREPLIES#<LeaseId>          SK=<ReceivedAt>#<ReplySid>
  unmatched reply  PK=LEASEREPLIES#UNMATCHED#<number> SK=<ReceivedAt>#<ReplySid>  (30 days)
  inbound marker   PK=INBOUND#<carrier>#<carrier sid> SK=INBOUND                  (30 days)
  forward claim    PK=FORWARD#<ReplySid>#<kind>       SK=FORWARD
  SMS forward sent PK=SMSFORWARD#<from>#<to>#<digest>  SK=SMSFORWARD         (ExpiresAt)
  retained reply   GSI3PK=RETAINEDREPLY#<PropertySid>  GSI3SK=<ReceivedAt>#<ReplySid>
                   (sparse, keys only: a reply of a property with a retention period,
                   until its text is removed)
The marker is written in the same transaction as the reply, only if absent, so a carrier
retrying its callback stores (and forwards) the reply once. A reply to be forwarded carries
its forwards (`Forwards`, models/lease.py) from that same write: its insert on the table's
stream is what makes the notifier queue them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from smsgw.dal.conditions import written
from smsgw.kernel.page_tokens import decode_page_token, encode_page_token
from smsgw.models.lease import FORWARDS, Reply, forwards_attribute

UNMATCHED_TTL_SECONDS = 30 * 86400
RETAINED_PREFIX = "RETAINEDREPLY#"
FORWARD_SENDING = "sending"
FORWARD_DONE = "done"


def replies_partition(lease_id: str | None, number: str) -> str:
    return f"LEASEREPLIES#{lease_id}" if lease_id else f"LEASEREPLIES#UNMATCHED#{number}"


class ReplyStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def store(
        self,
        reply: Reply,
        now: float,
        forwards: dict[str, str] | None = None,
        *,
        retained: bool = False,
    ) -> bool:
        """Store a reply once per carrier message, with the response options it is to be
        forwarded by (`forwards`, if any), and listed for its property's retention pass if
        `retained`. False for a duplicate callback (nothing written)."""
        name = self._table.name
        expires = int(now) + UNMATCHED_TTL_SECONDS
        item: dict[str, Any] = {
            "PK": replies_partition(reply.lease_id, reply.number),
            "SK": f"{reply.received_at}#{reply.reply_sid}",
            "Type": "Reply",
            **reply.to_item(),
        }
        if not reply.lease_id:
            item["ExpiresAt"] = expires
        if forwards:
            item[FORWARDS] = forwards_attribute(forwards)
        if retained and reply.property_sid:
            item["GSI3PK"] = RETAINED_PREFIX + reply.property_sid
            item["GSI3SK"] = item["SK"]
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": name,
                            "Item": {
                                "PK": f"INBOUND#{reply.carrier}#{reply.carrier_sid}",
                                "SK": "INBOUND",
                                "Type": "InboundMarker",
                                "ReplySid": reply.reply_sid,
                                "ReceivedAt": reply.received_at,
                                "ExpiresAt": expires,
                            },
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": name, "Item": item}},
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def for_lease(
        self,
        lease_id: str,
        since: str,
        *,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> tuple[list[Reply], str | None]:
        """The lease's replies received at or after `since` (ISO time), oldest first."""
        partition = replies_partition(lease_id, "")
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(partition) & Key("SK").gte(since),
            "Limit": page_size,
        }
        if page_token:
            kwargs["ExclusiveStartKey"] = decode_page_token(page_token, "PK", partition)
        page = self._table.query(**kwargs)
        replies = [Reply.from_item(item) for item in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return replies, encode_page_token(last) if last else None

    def redact_for_message(self, lease_id: str, since: str, message_sid: str) -> int:
        """Remove the text and the forwards of the lease's replies received at or after
        `since` (ISO time) that `message_sid` routed (their `MessageSid`), and mark them
        `Redacted` (off the retention pass's list). Replies already redacted are left as
        they are. The number redacted now."""
        partition = replies_partition(lease_id, "")
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(partition) & Key("SK").gte(since),
            "FilterExpression": Attr("MessageSid").eq(message_sid) & Attr("Redacted").not_exists(),
            "ProjectionExpression": "PK, SK",
        }
        redacted = 0
        while True:
            page = self._table.query(**kwargs)
            for key in page["Items"]:
                redacted += self._redact(key)
            if "LastEvaluatedKey" not in page:
                return redacted
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _redact(self, key: dict[str, Any]) -> bool:
        return written(
            lambda: self._table.update_item(
                Key={"PK": key["PK"], "SK": key["SK"]},
                UpdateExpression="SET Redacted = :r REMOVE #t, #f, GSI3PK, GSI3SK",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(Redacted)",
                ExpressionAttributeNames={"#t": "Text", "#f": FORWARDS},
                ExpressionAttributeValues={":r": True},
            )
        )

    def retained_before(self, property_sid: str, before: str, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` of the property's replies still holding text that arrived before
        `before` (ISO time), oldest first, as (partition, sort key): those no pass over
        their message reached, because they arrived after it."""
        page = self._table.query(
            IndexName="GSI3",
            KeyConditionExpression=Key("GSI3PK").eq(RETAINED_PREFIX + property_sid)
            & Key("GSI3SK").lt(before),
            Limit=limit,
        )
        return [(key["PK"], key["SK"]) for key in page["Items"]]

    def expire(self, partition: str, sort_key: str, *, delete: bool) -> bool:
        """The end of a reply's retention: its text and forwards removed, as a redaction
        does (or the reply deleted, `delete`), which takes it off the list. False if it
        was gone already, or redacted (a redaction takes it off the list too)."""
        key = {"PK": partition, "SK": sort_key}
        if delete:
            return written(
                lambda: self._table.delete_item(Key=key, ConditionExpression="attribute_exists(PK)")
            )
        return self._redact(key)

    def delete_for_message(self, lease_id: str, since: str, message_sid: str) -> int:
        """Delete the lease's replies received at or after `since` (ISO time) that
        `message_sid` routed (retention that deletes messages). The number deleted now."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(replies_partition(lease_id, ""))
            & Key("SK").gte(since),
            "FilterExpression": Attr("MessageSid").eq(message_sid),
            "ProjectionExpression": "PK, SK",
        }
        deleted = 0
        while True:
            page = self._table.query(**kwargs)
            for key in page["Items"]:
                self._table.delete_item(Key={"PK": key["PK"], "SK": key["SK"]})
                deleted += 1
            if "LastEvaluatedKey" not in page:
                return deleted
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_forward(self, reply_sid: str, kind: str, now: float) -> bool:
        """Claim the one forward of `kind` for a reply. False if it was claimed before: a
        forward is made at most once, never repeated after an unknown outcome."""
        return written(
            lambda: self._table.put_item(
                Item={
                    "PK": f"FORWARD#{reply_sid}#{kind}",
                    "SK": "FORWARD",
                    "Type": "ForwardClaim",
                    "State": FORWARD_SENDING,
                    "ExpiresAt": int(now) + UNMATCHED_TTL_SECONDS,
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        )

    def settle_forward(self, reply_sid: str, kind: str, detail: str) -> None:
        self._table.update_item(
            Key={"PK": f"FORWARD#{reply_sid}#{kind}", "SK": "FORWARD"},
            UpdateExpression="SET #s = :done, Detail = :d",
            ExpressionAttributeNames={"#s": "State"},
            ExpressionAttributeValues={":done": FORWARD_DONE, ":d": detail[:500]},
        )

    def record_sms_forward(
        self, sender: str, to: str, text: str, message_sid: str, expires_at: int
    ) -> None:
        """Remember an SMS forward (its sender, recipient and text) until `expires_at`, so
        that it is known if it arrives on one of our numbers. Writing it again is harmless."""
        self._table.put_item(
            Item={
                **_sms_forward_key(sender, to, text),
                "Type": "SmsForward",
                "MessageSid": message_sid,
                "ExpiresAt": expires_at,
            }
        )

    def is_sms_forward(self, sender: str, to: str, text: str, now: float) -> bool:
        """Whether an SMS from `sender` to `to` saying `text` is one of our own forwards,
        recorded and not yet expired. One consistent GetItem."""
        item = self._table.get_item(
            Key=_sms_forward_key(sender, to, text), ConsistentRead=True
        ).get("Item")
        return bool(item) and int(item["ExpiresAt"]) > now

    def release_forward(self, reply_sid: str, kind: str) -> None:
        """The forward definitely did not happen (the provider refused it): allow a retry."""
        self._table.delete_item(Key={"PK": f"FORWARD#{reply_sid}#{kind}", "SK": "FORWARD"})


def _sms_forward_key(sender: str, to: str, text: str) -> dict[str, str]:
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return {"PK": f"SMSFORWARD#{sender}#{to}#{digest}", "SK": "SMSFORWARD"}
