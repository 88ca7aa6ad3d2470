"""CallbackQueue, and the record of each webhook attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from smsgw.dal.paging import query_items
from smsgw.models.callback import CallbackJob

MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds


class CallbackQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, job: CallbackJob, delay_seconds: int = 0) -> None:
        """Queue a job; `delay_seconds` (at most SQS's 900) before its first receive."""
        arguments: dict[str, Any] = {"QueueUrl": self._url, "MessageBody": job.to_json()}
        if delay_seconds:
            arguments["DelaySeconds"] = min(int(delay_seconds), MAX_DELAY_SECONDS)
        self._client.send_message(**arguments)

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received job visible again in `seconds` (its next attempt)."""
        self._client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


ATTEMPT_LOG_DAYS = 30


class CallbackLog:
    """Each webhook attempt as its own small item beside the message (docs/data-model.md):
    one write unit, whatever the message's size, and kept 30 days (TTL)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def record_attempt(self, message_sid: str, attempt: dict[str, Any]) -> None:
        """Store one attempt (`WebhookId`, `Status`, `Attempt`, `Timestamp`, `Result`, ...)."""
        self._table.put_item(
            Item={
                "PK": f"{PREFIX}{message_sid}",
                "SK": f"{attempt['Timestamp']}#{attempt['Attempt']:02d}#{attempt['WebhookId']}",
                "ExpiresAt": _epoch(attempt["Timestamp"]) + ATTEMPT_LOG_DAYS * 86400,
                **attempt,
            }
        )

    def attempts(self, message_sid: str) -> list[dict[str, Any]]:
        """A message's webhook attempts, oldest first."""
        items = query_items(self._table, KeyConditionExpression=Key("PK").eq(PREFIX + message_sid))
        return [{k: v for k, v in i.items() if k not in ("PK", "SK", "ExpiresAt")} for i in items]


PREFIX = "CALLBACKS#"


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
