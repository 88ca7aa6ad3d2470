"""Sender function: SendQueue records -> exactly one carrier submission each."""

from smsgw.observability import logger, metrics, tracer
from smsgw.send_batch import process_batch


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return process_batch(event)
