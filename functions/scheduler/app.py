"""Scheduler function: every minute, release the scheduled messages coming due."""

from dataclasses import asdict

from smsgw.minute_tick import run_reconcile, run_retention, run_tick
from smsgw.observability import Metric, emit, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    result = run_tick(owner=context.aws_request_id)
    logger.info(
        "tick",
        extra={"released": result.released, "buckets": result.buckets, "skipped": result.skipped},
    )
    emit(Metric.SCHEDULED_RELEASED, result.released)
    # Messages whose carrier submission had an unknown outcome (docs/reliability.md).
    reconciled = run_reconcile()
    logger.info("reconcile", extra={"reconcile": asdict(reconciled)})
    emit(Metric.MESSAGES_RECONCILED, reconciled.found)
    emit(Metric.MESSAGES_UNRECONCILED, reconciled.given_up)
    # Text kept past its property's retention period (docs/security.md, "Personal data").
    retained = run_retention()
    logger.info("retention", extra={"retention": asdict(retained)})
    return {"released": result.released, "skipped": result.skipped}
