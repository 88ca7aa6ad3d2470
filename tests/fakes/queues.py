"""In-memory stand-ins for the queues: `smsgw.dal.send_queue.SendQueue` (the `SendQueueLike`
port, and the scheduler's `enqueue_many`) and `smsgw.dal.callback_store.CallbackQueue` (the
`JobQueue` port). A job is kept as the body the real queue sends, with the delay it would
ask SQS for (at most SQS's 900 s), so a test reads what went out.
Held honest by `tests/contract/test_queue_contract.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smsgw.models.send_job import Turn, job_body

MAX_DELAY_SECONDS = 900


@dataclass(frozen=True, slots=True)
class QueuedJob:
    body: str
    delay_seconds: int

    @property
    def message_sid(self) -> str | None:
        return json.loads(self.body).get("MessageSid")


class FakeSendQueue:
    def __init__(self, *, failing: bool = False) -> None:
        self.jobs: list[QueuedJob] = []
        self.failing = failing
        """When True, every send raises, as SQS unavailable would."""
        self.visibility: dict[str, int] = {}

    def enqueue(
        self, message_sid: str, delay_seconds: int = 0, *, turn: Turn | None = None
    ) -> None:
        if turn is None:
            self.enqueue_many([(message_sid, delay_seconds)])
            return
        if self.failing:
            raise RuntimeError("SendQueue unavailable")
        self.jobs.append(
            QueuedJob(job_body(message_sid, turn), min(delay_seconds, MAX_DELAY_SECONDS))
        )

    def enqueue_many(self, jobs: list[tuple[str, int]]) -> None:
        if self.failing:
            raise RuntimeError("SendQueue unavailable")
        if len(jobs) > 10:
            raise ValueError("SQS takes at most 10 entries per batch")
        for sid, delay in jobs:
            body = json.dumps({"MessageSid": sid})
            self.jobs.append(QueuedJob(body, max(0, min(delay, MAX_DELAY_SECONDS))))

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.visibility[receipt_handle] = seconds

    def message_sids(self) -> list[str | None]:
        return [job.message_sid for job in self.jobs]


class FakeCallbackQueue:
    def __init__(self) -> None:
        self.jobs: list[QueuedJob] = []
        self.sent: list[Any] = []
        """The job objects as given, for a test to inspect."""

    def enqueue(self, job: Any, delay_seconds: int = 0) -> None:
        self.jobs.append(QueuedJob(job.to_json(), min(int(delay_seconds), MAX_DELAY_SECONDS)))
        self.sent.append(job)

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        pass

    def kinds(self) -> list[str]:
        return [getattr(job, "kind", "") for job in self.sent]
