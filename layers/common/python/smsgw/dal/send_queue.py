"""SendQueue: jobs for messages that are stored and due (now or within 15 minutes)."""

from __future__ import annotations

import json
from typing import Any

from smsgw.models.send_job import Turn, job_body

MAX_DELAY_SECONDS = 900


class BatchEnqueueError(Exception):
    """Some jobs of a batch were not queued."""


class SendQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(
        self, message_sid: str, delay_seconds: int = 0, *, turn: Turn | None = None
    ) -> None:
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=job_body(message_sid, turn),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )

    def enqueue_many(self, jobs: list[tuple[str, int]]) -> None:
        """Queue up to ten (MessageSid, delay seconds) jobs in one call."""
        entries = [
            {
                "Id": str(index),
                "MessageBody": json.dumps({"MessageSid": sid}),
                "DelaySeconds": max(0, min(delay, MAX_DELAY_SECONDS)),
            }
            for index, (sid, delay) in enumerate(jobs)
        ]
        result = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
        if result.get("Failed"):
            raise BatchEnqueueError(f"{len(result['Failed'])} of {len(entries)} jobs not queued")

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
