"""Notifier function: the table's stream (receipt webhooks' first attempts) and CallbackQueue
(their retries, reply webhooks, reply forwards) -> signed customer webhooks."""

from smsgw.notify_batch import process_batch
from smsgw.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return process_batch(event)
