"""The sender function's batch glue: records in, batchItemFailures out.

Records are handled concurrently so that a batch of ten costs about one carrier round
trip, not ten. Powertools' BatchProcessor runs record handlers one after another, so the
partial-failure response is built here instead, in the same shape.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smsgw import services
from smsgw.config import settings
from smsgw.errors import TransientError
from smsgw.kernel.backoff import Backoff
from smsgw.logic.dispatch import Dispatcher
from smsgw.models.message import FAILED, REJECTED, SENT
from smsgw.models.send_job import Outcome, SendJob
from smsgw.observability import Metric, emit, logger
from smsgw.warm import warm

MAX_RETRY_DELAY_SECONDS = 900
SEND_RETRY = Backoff(base=10, cap=MAX_RETRY_DELAY_SECONDS, jitter=0.2, rounding="floor", minimum=1)
"""10 s, 20 s, 40 s, ... shortened by up to 20%, at most 15 min; a Retry-After as asked."""
_pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="send")
_METRICS = {
    SENT: Metric.MESSAGES_SENT,
    FAILED: Metric.MESSAGES_FAILED,
    REJECTED: Metric.MESSAGES_REJECTED,
}


@warm
def dispatcher() -> Dispatcher:
    config = settings()
    return Dispatcher(
        claims=services.claims(),
        tenants=services.tenants(),
        queue=services.send_queue(),
        opt_outs=services.lease_store(),
        carriers=services.carriers(),
        breakers=services.breakers(),
        rate_limits=services.rate_limits(),
        limits=services.send_limits(),
        max_attempts=config.max_send_attempts,
        status_callback_base=config.public_base_url or None,
        receipts=services.receipts(),
        leasing=services.leasing(),
    )


def _job(record: dict[str, Any]) -> SendJob:
    attributes = record.get("attributes") or {}
    return SendJob(
        message_id=record["messageId"],
        body=record.get("body") or "",
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
    )


def _handle(record: dict[str, Any]) -> Outcome | None:
    job = _job(record)
    try:
        outcome = dispatcher().handle(job)
    except TransientError as exc:
        delay = retry_delay(job.receive_count, exc.retry_after, exc.expires_in)
        logger.warning(
            "send will be retried",
            extra={"messageId": job.message_id, "reason": str(exc), "retryInSeconds": delay},
        )
        _back_off(record, delay)
        return None
    except Exception:
        logger.exception("send failed unexpectedly", extra={"messageId": job.message_id})
        return None
    logger.info(
        "send handled",
        extra={
            "messageId": job.message_id,
            "MessageSid": outcome.message_sid,
            "Status": outcome.status,
        },
    )
    return outcome


def retry_delay(
    receive_count: int, retry_after: float | None, expires_in: int | None = None
) -> int:
    """Seconds until SQS delivers a refused record again: the carrier's Retry-After when it
    gave one, else exponential backoff (10 s, 20 s, 40 s, ...) with jitter, at most 15 min;
    never past the message's validity deadline (`expires_in` seconds away), so that it is
    failed then rather than after the whole wait (at least 1 s: SQS's visibility)."""
    delay = int(SEND_RETRY.delay(receive_count, asked=retry_after))
    return delay if expires_in is None else max(1, min(delay, expires_in))


def _back_off(record: dict[str, Any], delay: int) -> None:
    """Hold the record back for `delay` seconds by its visibility, instead of sleeping in
    the function or waiting out the queue's whole visibility timeout."""
    try:
        services.send_queue().change_visibility(record["receiptHandle"], delay)
    except Exception:  # the queue's own visibility timeout is the fallback
        logger.warning("could not change the record's visibility", exc_info=True)


def process_batch(event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records") or []
    outcomes = list(_pool.map(_handle, records))
    if records:
        dispatcher().end_batch()
    failures = []
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome is None:
            failures.append({"itemIdentifier": record["messageId"]})
        elif outcome.status in _METRICS:
            emit(_METRICS[outcome.status])
    return {"batchItemFailures": failures}
