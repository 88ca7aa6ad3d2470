"""The local stack's triggers: a poller for each of the template's SQS and DynamoDB stream
event source mappings and `rate(...)` schedules, made for a deployed stack (`pollers`
runs them)."""

from __future__ import annotations

import logging
from typing import Any

from smsgw_tools.local.gateway import Invoke
from smsgw_tools.local.pollers import (
    STREAM_DESCRIBE_SECONDS,
    SchedulePoller,
    SqsPoller,
    StreamPoller,
)
from smsgw_tools.local.resources import Stack
from smsgw_tools.local.streams import StreamReader

logger = logging.getLogger(__name__)

Poller = SqsPoller | StreamPoller | SchedulePoller


def pollers_for(stack: Stack, invoke: Invoke, sqs: Any, streams: Any) -> list[Poller]:
    """A poller for each enabled SQS and stream event source mapping and each `rate(...)`
    schedule of a function the stack runs (a `cron(...)` one is logged and left out)."""
    pollers: list[Poller] = [
        SqsPoller(
            trigger,
            stack.queue_url(trigger.queue),
            stack.queue_arn(trigger.queue),
            sqs,
            invoke,
            stack.region,
        )
        for trigger in stack.template.queue_triggers
        if trigger.enabled and trigger.function in stack.template.functions
    ]
    for stream in stack.template.stream_triggers:
        if not stream.enabled or stream.function not in stack.template.functions:
            continue
        pollers.append(
            StreamPoller(
                stream,
                StreamReader(
                    streams,
                    stack.get_att(stream.table, "StreamArn"),
                    stack.region,
                    describe_seconds=STREAM_DESCRIBE_SECONDS,
                ),
                invoke,
                sqs=sqs,
                on_failure_url=stack.queue_url(stream.on_failure) if stream.on_failure else None,
            )
        )
    for schedule in stack.template.schedules:
        if not schedule.enabled or schedule.function not in stack.template.functions:
            continue
        if schedule.rate_seconds is None:
            logger.warning("%s: %s does not run locally", schedule.logical_id, schedule.expression)
            continue
        kind = "rule" if schedule.kind == "rule" else "schedule"
        service = "events" if schedule.kind == "rule" else "scheduler"
        arn = f"arn:aws:{service}:{stack.region}:{stack.account_id}:{kind}/{stack.name}-{schedule.logical_id}"
        pollers.append(
            SchedulePoller(
                schedule,
                invoke,
                region=stack.region,
                account_id=stack.account_id,
                resource_arn=arn,
            )
        )
    return pollers
