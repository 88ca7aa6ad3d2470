"""CallbackQueue and the record of webhook attempts on a message."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from smsgw.models.callback import CallbackJob


class CallbackQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, job: CallbackJob) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=job.to_json())

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received job visible again in `seconds` (its next attempt)."""
        self._client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


class CallbackLog:
    """Appends each webhook attempt to the message's `Callbacks` list."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def record_attempt(self, message_sid: str, attempt: dict[str, Any]) -> None:
        try:
            self._table.update_item(
                Key={"PK": f"MESSAGE#{message_sid}", "SK": "MESSAGE"},
                UpdateExpression="SET Callbacks = list_append(if_not_exists(Callbacks, :none), :a)",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":a": [attempt], ":none": []},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
