"""The sender function's batch glue: records in, batchItemFailures out.

Records are handled concurrently so that a batch of ten costs about one carrier round
trip, not ten. Powertools' BatchProcessor runs record handlers one after another, so the
partial-failure response is built here instead, in the same shape.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from smsgw import services
from smsgw.carriers import configured_carrier
from smsgw.config import settings
from smsgw.errors import TransientError
from smsgw.logic.dispatch import Dispatcher, Outcome, SendJob
from smsgw.models.message import FAILED, REJECTED, SENT
from smsgw.observability import logger, metrics

_pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="send")
_METRICS = {SENT: "MessagesSent", FAILED: "MessagesFailed", REJECTED: "MessagesRejected"}


@cache
def dispatcher() -> Dispatcher:
    config = settings()
    return Dispatcher(
        claims=services.claims(),
        tenants=services.tenants(),
        queue=services.send_queue(),
        carrier=configured_carrier(
            config.carrier, config.carrier_secret_name, config.carrier_timeout_seconds
        ),
        limits=services.send_limits(),
        max_attempts=config.max_send_attempts,
        status_callback_base=config.public_base_url or None,
        receipts=services.receipts(),
        callbacks=services.callback_queue() if config.callback_queue_url else None,
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
        logger.warning(
            "send will be retried", extra={"messageId": job.message_id, "reason": str(exc)}
        )
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


def process_batch(event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records") or []
    outcomes = list(_pool.map(_handle, records))
    failures = []
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome is None:
            failures.append({"itemIdentifier": record["messageId"]})
        elif outcome.status in _METRICS:
            metrics.add_metric(name=_METRICS[outcome.status], unit="Count", value=1)
    return {"batchItemFailures": failures}
