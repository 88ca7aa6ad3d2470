"""Webhooks function: carrier delivery receipts, verified by the carrier's signature."""

from smsgw.api.carrier_callbacks import app
from smsgw.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
