"""Scheduler function: every minute, release the scheduled messages coming due."""

from smsgw.observability import logger, metrics, tracer
from smsgw.scheduler import run_tick


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    result = run_tick(owner=context.aws_request_id)
    logger.info(
        "tick",
        extra={"released": result.released, "buckets": result.buckets, "skipped": result.skipped},
    )
    metrics.add_metric(name="ScheduledReleased", unit="Count", value=result.released)
    return {"released": result.released, "skipped": result.skipped}
