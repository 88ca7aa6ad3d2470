"""The notifier function's batch glue: two event sources, batchItemFailures out.

- The table's stream (`aws:dynamodb` records, the outbox of receipt webhooks and reply
  forwards, logic/outbox.py): a message whose status became final makes its webhook's
  first attempt here; an attempt to retry goes to CallbackQueue as a job that starts at
  attempt 2, after the retry delay. A reply stored with forwards has its forward jobs
  (SMS, e-mail, reply webhook) queued on CallbackQueue. A record whose processing raised
  is reported by its SequenceNumber, so Lambda retries the shard from there.
- CallbackQueue (`aws:sqs` records): those retries, reply webhooks and reply forwards. A
  record to retry gets its visibility set to the retry delay and is reported failed; one
  that has used its last attempt is made visible at once and reported failed, so the
  queue's redrive policy moves it to the dead-letter queue.

Records are delivered concurrently (a slow customer endpoint must not hold up the batch).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from smsgw import services
from smsgw.config import settings
from smsgw.dal import stream_records
from smsgw.logic.webhook_delivery import (
    DELIVERED,
    GAVE_UP,
    MAX_ATTEMPTS,
    RETRY,
    DeliveryResult,
    Notifier,
    NotifyOutcome,
)
from smsgw.models.callback import CallbackJob
from smsgw.models.lease import FORWARD_EMAIL, FORWARD_SMS, job_kind
from smsgw.observability import Metric, emit, logger
from smsgw.warm import warm

_pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="notify")


@warm
def notifier() -> Notifier:
    from smsgw.webhook_client import WebhookClient

    networks = [ipaddress.ip_network(n) for n in settings().webhook_allowed_networks]
    return Notifier(
        secrets=services.webhook_secrets(),
        attempts=services.callback_log(),
        transport=WebhookClient(networks),
    )


def _handle(record: dict[str, Any]) -> NotifyOutcome | None:
    """The outcome, or None for a record that is not a job (dropped, logged)."""
    receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    if job_kind(record.get("body") or "") in (FORWARD_SMS, FORWARD_EMAIL):
        return _forward(record, receives)
    try:
        job = CallbackJob.from_json(record.get("body") or "")
    except (ValueError, KeyError, TypeError):
        logger.error("not a callback job; dropped", extra={"messageId": record.get("messageId")})
        return None
    # A receipt webhook's job starts at attempt 2 (its first was made from the stream), so
    # its redrive (maxReceiveCount = MAX_ATTEMPTS) comes one receive after its last attempt.
    attempt = job.first_attempt - 1 + receives
    if attempt > MAX_ATTEMPTS:
        return NotifyOutcome(DeliveryResult.DEAD_LETTER, attempt)
    return _attempt(job, attempt)


def _attempt(job: CallbackJob, attempt: int) -> NotifyOutcome:
    outcome = notifier().deliver(job, attempt)
    logger.info(
        "webhook attempt",
        extra={
            "MessageSid": job.message_sid,
            "PropertySid": job.property_sid,
            "WebhookId": job.webhook_id,
            "Attempt": attempt,
            "Result": outcome.result,
            "HttpStatus": outcome.http_status,
        },
    )
    return outcome


@warm
def forwarder():
    from smsgw.dal.email import SesMailer
    from smsgw.logic.replies import Forwarder

    return Forwarder(
        messages=services.messages(),
        send_queue=services.send_queue(),
        claims=services.replies(),
        mailer=SesMailer(),
        no_reply_email=settings().no_reply_email,
        max_text_characters=settings().max_text_characters,
    )


def _forward(record: dict[str, Any], attempt: int) -> NotifyOutcome | None:
    """A reply forwarded by SMS or e-mail (logic/replies.py). Raises to be retried."""
    import time

    from smsgw.models.lease import ForwardJob

    try:
        job = ForwardJob.from_json(record.get("body") or "")
    except (ValueError, KeyError, TypeError):
        logger.error("not a forward job; dropped", extra={"messageId": record.get("messageId")})
        return None
    result = forwarder().forward(job, time.time())
    logger.info(
        "reply forwarded",
        extra={"ReplySid": job.reply_sid, "Kind": job.kind, "Attempt": attempt, "Result": result},
    )
    return NotifyOutcome(DELIVERED, attempt)


def _handle_stream(record: dict[str, Any]) -> NotifyOutcome | None:
    """A stream record: the first attempt of the receipt webhook it calls for (None if it
    calls for none); an attempt to retry is queued on CallbackQueue after its delay. A
    reply's forwards are queued on CallbackQueue (None: no attempt made here)."""
    try:
        forwards = stream_records.forward_jobs_for_record(record)
        job = None if forwards else stream_records.job_for_record(record)
    except (ValueError, KeyError, TypeError):  # an unreadable item: retrying cannot help
        logger.error(
            "stream record is not a message or reply; dropped",
            extra={"SequenceNumber": stream_records.sequence_number(record)},
        )
        return None
    if forwards:
        _queue_forwards(forwards)
        return None
    if job is None:
        return None
    outcome = _attempt(job, 1)
    if outcome.result == RETRY:
        services.callback_queue().enqueue(replace(job, first_attempt=2), outcome.retry_in or 0)
    return outcome


def _queue_forwards(jobs: list[Any]) -> None:
    """A stored reply's forwards, queued as the webhooks function queued them before. A
    send that raises fails the record, and Lambda reads it again: the jobs already queued
    are queued again, harmlessly (each forward is once-only, logic/outbox.py)."""
    queue = services.callback_queue()
    for job in jobs:
        queue.enqueue(job)
    reply = jobs[0]
    logger.info(
        "reply forwards queued",
        extra={
            "ReplySid": getattr(reply, "reply_sid", None) or reply.payload.get("ReplySid"),
            "Forwards": [getattr(job, "kind", "") for job in jobs],
        },
    )


Outcome = NotifyOutcome | Exception | None


def _safe(handle: Callable[[dict[str, Any]], NotifyOutcome | None], record: dict) -> Outcome:
    try:
        return handle(record)
    except Exception as exc:  # an AWS fault: the record is reported failed and retried
        logger.exception("webhook attempt failed unexpectedly")
        return exc


def _message_of(record: dict[str, Any]) -> str:
    try:
        return str(json.loads(record.get("body") or "")["Payload"]["MessageSid"])
    except (ValueError, KeyError, TypeError):
        return record.get("messageId", "")


def _concurrently(
    records: list[dict[str, Any]],
    group_of: Callable[[dict[str, Any]], str],
    handle: Callable[[dict[str, Any]], NotifyOutcome | None],
) -> list[Outcome]:
    """Each record's outcome, in the order of `records`: one group's records one after
    another (one message's callbacks go out in order), the groups concurrently."""
    groups: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(group_of(record), []).append(index)

    def in_order(indexes: list[int]) -> list[Outcome]:
        return [_safe(handle, records[index]) for index in indexes]

    results: list[Outcome] = [None] * len(records)
    for indexes, outcomes in zip(
        groups.values(), _pool.map(in_order, groups.values()), strict=True
    ):
        for index, outcome in zip(indexes, outcomes, strict=True):
            results[index] = outcome
    return results


def _count(outcome: NotifyOutcome) -> None:
    emit(Metric.WEBHOOK_ATTEMPTS)
    if outcome.result == DELIVERED:
        emit(Metric.WEBHOOKS_DELIVERED)


def process_batch(event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:dynamodb":
        return process_stream(records)
    failures = []
    for record, outcome in zip(records, _concurrently(records, _message_of, _handle), strict=True):
        if isinstance(outcome, Exception):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        if outcome is None:
            continue
        if outcome.result != DeliveryResult.DEAD_LETTER:
            _count(outcome)
        if outcome.result in (RETRY, GAVE_UP, DeliveryResult.DEAD_LETTER):
            delay = outcome.retry_in if outcome.result == RETRY else 0
            _retry_in(record, delay or 0)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _retry_in(record: dict[str, Any], seconds: int) -> None:
    """Make a failed job visible again in `seconds`. If SQS refuses, the queue's own
    visibility timeout brings it back instead: only this record is late, while raising
    would fail the whole batch and repeat the webhooks its other records delivered."""
    try:
        services.callback_queue().retry_in(record["receiptHandle"], seconds)
    except Exception:
        logger.warning(
            "could not change the job's visibility",
            extra={"messageId": record.get("messageId")},
            exc_info=True,
        )


def process_stream(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A batch of the table's stream. A record that raised is reported failed by its
    SequenceNumber; Lambda retries the batch from the earliest one reported."""
    failures = []
    outcomes = _concurrently(records, stream_records.item_key, _handle_stream)
    for record, outcome in zip(records, outcomes, strict=True):
        if isinstance(outcome, Exception):
            failures.append({"itemIdentifier": stream_records.sequence_number(record)})
        elif outcome is not None:
            _count(outcome)
    return {"batchItemFailures": failures}
