"""SendQueue: jobs for messages the API has stored."""

from __future__ import annotations

import json
from typing import Any

MAX_DELAY_SECONDS = 900


class SendQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, message_sid: str, delay_seconds: int = 0) -> None:
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"MessageSid": message_sid}),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
