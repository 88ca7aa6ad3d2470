"""API function: the public REST API (send, get, list)."""

from aws_lambda_powertools.logging import correlation_paths

from smsgw.api.app import app
from smsgw.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
