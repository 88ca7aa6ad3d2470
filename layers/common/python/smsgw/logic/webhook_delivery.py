"""Customer delivery-receipt webhooks: one signed call per job, retried on a schedule.

Retry policy (docs/webhooks.md): the job's attempt number is its SQS receive count. A
failed attempt (timeout, connection error, any non-2xx but 410) makes the record invisible
for the next delay of RETRY_SCHEDULE, stretched by up to +20% jitter, and reports it
failed so SQS delivers it again then. After the last attempt the job is recorded as given
up and dead-lettered. 410 Gone, or a destination that resolves to an internal address,
ends the job at once. Every attempt is recorded (`dal/callback_store.py`, `CallbackLog`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from smsgw import explanations
from smsgw.kernel import webhook_signing
from smsgw.kernel.backoff import Backoff
from smsgw.models.callback import CallbackJob
from smsgw.models.message import iso_from_epoch
from smsgw.observability import logger

RETRY_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds to wait after attempt n (1-based) before attempt n+1."""
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.2
MAX_VISIBILITY_SECONDS = 43200  # SQS limit on ChangeMessageVisibility
WEBHOOK_RETRY = Backoff(
    schedule=RETRY_SCHEDULE,
    cap=MAX_VISIBILITY_SECONDS,
    jitter=JITTER,
    lengthen=True,
    rounding="nearest",
)


class DeliveryResult(StrEnum):
    """What became of one attempt at a webhook job (or a reply forward); recorded as the
    attempt's `Result` (docs/webhooks.md)."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"
    """410 Gone: the customer asked us to stop."""
    REFUSED = "refused"
    """The destination resolves to an internal address."""
    GAVE_UP = "gave_up"
    DEAD_LETTER = "dead_letter"
    """A job received once more after its last attempt (recorded given up): no attempt,
    it is failed at once so the queue's redrive policy moves it to the dead-letter queue."""


DELIVERED = DeliveryResult.DELIVERED
RETRY = DeliveryResult.RETRY
GONE = DeliveryResult.GONE
REFUSED = DeliveryResult.REFUSED
GAVE_UP = DeliveryResult.GAVE_UP


class DeliveryError(Exception):
    """The attempt failed before an HTTP answer came back (timeout, connection error).

    The text is for the logs; `detail` is the sentence recorded on the attempt
    (smsgw.explanations), by cause."""

    def __init__(
        self, message: str, *, detail: str = explanations.WEBHOOK_CONNECTION_FAILED
    ) -> None:
        super().__init__(message)
        self.detail = detail


class DestinationRefusedError(DeliveryError):
    """The webhook's host resolves to an address a webhook must never reach (or the URI
    has no usable host): never retried."""

    def __init__(
        self, message: str, *, detail: str = explanations.WEBHOOK_DESTINATION_REFUSED
    ) -> None:
        super().__init__(message, detail=detail)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: str


class Transport(Protocol):
    def __call__(self, request: HttpRequest) -> int:
        """Send the request; the HTTP status. Raises DeliveryError, DestinationRefusedError."""
        ...


class SecretSource(Protocol):
    def active_secrets(self, property_sid: str, now: float) -> list[str]: ...


class AttemptLog(Protocol):
    def record_attempt(self, message_sid: str, attempt: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class NotifyOutcome:
    result: DeliveryResult
    attempt: int
    http_status: int | None = None
    retry_in: int | None = None


def retry_delay(attempt: int, rand: Callable[[], float] = random.random) -> int:
    """Seconds before the attempt after `attempt`: the schedule's, plus 0-20% jitter (only
    ever longer, so the whole schedule still spans over 24 hours)."""
    return int(WEBHOOK_RETRY.delay(attempt, rand=rand))


def build_request(job: CallbackJob, secrets: list[str], now: float) -> HttpRequest:
    """The signed HTTP request for one attempt: a JSON body for POST; for GET the payload
    as query parameters, and the signature over the raw query string."""
    timestamp = int(now)
    if job.method == "GET":
        parts = urlsplit(job.uri)
        ours = urlencode([(name, _query_value(value)) for name, value in job.payload.items()])
        query = f"{parts.query}&{ours}" if parts.query else ours
        url = urlunsplit(parts._replace(query=query))
        headers = webhook_signing.headers(secrets, job.webhook_id, timestamp, query)
        return HttpRequest("GET", url, headers, "")
    body = json.dumps(job.payload, separators=(",", ":"), ensure_ascii=False)
    headers = webhook_signing.headers(secrets, job.webhook_id, timestamp, body)
    headers["content-type"] = "application/json"
    return HttpRequest("POST", job.uri, headers, body)


def _query_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Notifier:
    """Delivers one callback job attempt and decides what happens next."""

    def __init__(
        self,
        *,
        secrets: SecretSource,
        attempts: AttemptLog,
        transport: Transport,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._secrets = secrets
        self._attempts = attempts
        self._transport = transport
        self._clock = clock
        self._rand = rand
        self._max_attempts = max_attempts

    def deliver(self, job: CallbackJob, attempt: int) -> NotifyOutcome:
        """Make attempt number `attempt` (1-based) and record it on the message."""
        now = self._clock()
        request = build_request(job, self._secrets.active_secrets(job.property_sid, now), now)
        http_status: int | None = None
        detail: str | None = None
        try:
            http_status = self._transport(request)
        except DeliveryError as exc:
            refused = isinstance(exc, DestinationRefusedError)
            outcome = NotifyOutcome(REFUSED, attempt) if refused else self._failed(attempt, None)
            detail = exc.detail
            logger.warning(
                "webhook attempt failed",
                extra={"MessageSid": job.message_sid, "Attempt": attempt, "reason": str(exc)},
            )
        else:
            if 200 <= http_status < 300:
                outcome = NotifyOutcome(DELIVERED, attempt, http_status)
            elif http_status == 410:
                outcome = NotifyOutcome(GONE, attempt, http_status)
            else:
                outcome = self._failed(attempt, http_status)
        record: dict[str, Any] = {
            "WebhookId": job.webhook_id,
            "Status": job.status,
            "Attempt": attempt,
            "Timestamp": iso_from_epoch(now),
            "Result": outcome.result,
        }
        if http_status is not None:
            record["HttpStatus"] = http_status
        if detail:
            record["Detail"] = detail
        if outcome.retry_in is not None:
            record["NextAttemptAt"] = iso_from_epoch(now + outcome.retry_in)
        self._attempts.record_attempt(job.message_sid, record)
        return outcome

    def _failed(self, attempt: int, http_status: int | None) -> NotifyOutcome:
        if attempt >= self._max_attempts:
            return NotifyOutcome(GAVE_UP, attempt, http_status)
        return NotifyOutcome(RETRY, attempt, http_status, retry_delay(attempt, self._rand))
