"""The notifier function's batch glue: CallbackQueue records in, batchItemFailures out.

Records are delivered concurrently (a slow customer endpoint must not hold up the batch).
A record to retry gets its visibility set to the retry delay and is reported failed; one
that has used its last attempt is made visible at once and reported failed, so the queue's
redrive policy moves it to the dead-letter queue (maxReceiveCount = MAX_ATTEMPTS).
"""

from __future__ import annotations

import ipaddress
import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from smsgw import services
from smsgw.config import settings
from smsgw.logic.notify import DELIVERED, GAVE_UP, RETRY, Notifier, NotifyOutcome
from smsgw.models.callback import CallbackJob
from smsgw.models.lease import FORWARD_EMAIL, FORWARD_SMS, job_kind
from smsgw.observability import logger, metrics

_pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="notify")


@cache
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
    attempt = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    if job_kind(record.get("body") or "") in (FORWARD_SMS, FORWARD_EMAIL):
        return _forward(record, attempt)
    try:
        job = CallbackJob.from_json(record.get("body") or "")
    except (ValueError, KeyError, TypeError):
        logger.error("not a callback job; dropped", extra={"messageId": record.get("messageId")})
        return None
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


@cache
def forwarder():
    from smsgw.dal.email import SesMailer
    from smsgw.logic.replies import Forwarder

    return Forwarder(
        messages=services.messages(),
        send_queue=services.send_queue(),
        claims=services.replies(),
        mailer=SesMailer(),
        no_reply_email=settings().no_reply_email,
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


def _safe_handle(record: dict[str, Any]) -> NotifyOutcome | Exception | None:
    try:
        return _handle(record)
    except Exception as exc:  # an AWS fault: SQS redelivers after the visibility timeout
        logger.exception("webhook attempt failed unexpectedly")
        return exc


def _message_of(record: dict[str, Any]) -> str:
    try:
        return str(json.loads(record.get("body") or "")["Payload"]["MessageSid"])
    except (ValueError, KeyError, TypeError):
        return record.get("messageId", "")


def _in_order(group: list[dict[str, Any]]) -> list[NotifyOutcome | Exception | None]:
    return [_safe_handle(record) for record in group]


def process_batch(event: dict[str, Any]) -> dict[str, Any]:
    records = event.get("Records") or []
    # One message's callbacks (e.g. sent, then delivered) go out in queue order; different
    # messages' concurrently.
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(_message_of(record), []).append(record)
    results: dict[str, NotifyOutcome | Exception | None] = {}
    for group, outcomes in zip(groups.values(), _pool.map(_in_order, groups.values()), strict=True):
        for record, outcome in zip(group, outcomes, strict=True):
            results[record["messageId"]] = outcome
    failures = []
    for record in records:
        outcome = results[record["messageId"]]
        if isinstance(outcome, Exception):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        if outcome is None:
            continue
        metrics.add_metric(name="WebhookAttempts", unit="Count", value=1)
        if outcome.result == DELIVERED:
            metrics.add_metric(name="WebhooksDelivered", unit="Count", value=1)
        if outcome.result in (RETRY, GAVE_UP):
            delay = outcome.retry_in if outcome.result == RETRY else 0
            services.callback_queue().retry_in(record["receiptHandle"], delay or 0)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
