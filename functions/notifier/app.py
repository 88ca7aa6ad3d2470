"""Notifier function: CallbackQueue jobs -> signed customer delivery-receipt webhooks."""

from smsgw.notifier import process_batch
from smsgw.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return process_batch(event)
