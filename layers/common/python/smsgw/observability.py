"""One logger, tracer and metrics object for the whole process, and every metric's name.

`tracer` and `metrics` are created on first use: the authorizer only logs, and importing
the X-Ray SDK would add to its cold start for nothing. With tracing off (the template's
default) the tracer is a stand-in that does nothing, and the X-Ray SDK is never loaded.
"""

import os
import warnings
from enum import Enum
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()

# An invocation with nothing to count (a webhook answered, an empty tick) publishes
# nothing, silently: Powertools would print a warning into the function's log each time.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


@cache
def _tracer() -> Any:
    if tracing_disabled():
        return _Untraced()
    from aws_lambda_powertools import Tracer

    # Patch only botocore at start: patching everything imports requests, sqlite3 and more
    # into functions that never use them. The sender patches requests where it uses it.
    return Tracer(patch_modules=("botocore",))


def tracing_disabled() -> bool:
    """Powertools' rule for a disabled Tracer: POWERTOOLS_TRACE_DISABLED is true (the
    template's `Tracing: PassThrough`, its default), or the code runs outside Lambda or
    under `sam local`."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower()
    return (
        disabled in ("1", "y", "yes", "t", "true", "on")
        or not os.environ.get("LAMBDA_TASK_ROOT")
        or bool(os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE"))
    )


class _Untraced:
    """The Tracer's part the functions use, doing nothing, for when tracing is off.

    A disabled Powertools Tracer records nothing either, but it still imports the X-Ray
    SDK and builds its recorder, whose sampler makes two botocore clients: 10-20 ms of every
    cold start (docs/performance.md, "Cold start")."""

    def capture_lambda_handler(self, handler: Any) -> Any:
        return handler

    def patch(self, modules: Any) -> None:
        pass


@cache
def _metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="SmsGateway")


class Metric(Enum):
    """Every metric the functions publish (namespace SmsGateway): (name, unit)."""

    MESSAGES_ACCEPTED = ("MessagesAccepted", "Count")
    """A send request the API stored and answered 200 (not an idempotent replay)."""
    MESSAGES_SENT = ("MessagesSent", "Count")
    """A SendQueue job that ended with its message `sent`; the sender."""
    MESSAGES_FAILED = ("MessagesFailed", "Count")
    """A SendQueue job that ended with its message `failed`; the sender."""
    MESSAGES_REJECTED = ("MessagesRejected", "Count")
    """A SendQueue job that ended with its message `rejected` (a raw send request that
    broke the API contract); the sender."""
    WEBHOOK_ATTEMPTS = ("WebhookAttempts", "Count")
    """One attempt at a customer webhook or a reply forward; the notifier."""
    WEBHOOKS_DELIVERED = ("WebhooksDelivered", "Count")
    """An attempt that was delivered; the notifier."""
    SCHEDULED_RELEASED = ("ScheduledReleased", "Count")
    """Scheduled messages one scheduler tick released onto SendQueue."""
    MESSAGES_RECONCILED = ("MessagesReconciled", "Count")
    """Messages of unknown submission outcome found at the carrier (docs/reliability.md)."""
    MESSAGES_UNRECONCILED = ("MessagesUnreconciled", "Count")
    """Messages of unknown outcome given up on, left `sending` for the operator."""
    CARRIER_BREAKER_OPENED = ("CarrierBreakerOpened", "Count")
    """A carrier's circuit breaker opened (docs/carriers.md, "Circuit breakers"); the
    sender. The log line beside it names the carrier."""

    @property
    def metric_name(self) -> str:
        return self.value[0]

    @property
    def unit(self) -> str:
        return self.value[1]


def emit(metric: Metric, value: float = 1) -> None:
    """Add one data point of `metric` to this invocation's metrics."""
    _metrics().add_metric(name=metric.metric_name, unit=metric.unit, value=value)


def __getattr__(name: str) -> Any:
    if name == "tracer":
        return _tracer()
    if name == "metrics":
        return _metrics()
    raise AttributeError(name)
