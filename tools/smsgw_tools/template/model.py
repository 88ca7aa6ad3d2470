"""What the tools read from `template.yaml`: a typed model of the functions, the HTTP API's
routes and authorizers, the event source mappings and the schedules (`loading.load` makes
it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smsgw_tools.local.streams import Filters

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Function:
    """One Lambda function as the template declares it."""

    logical_id: str
    handler: str
    code_dir: Path
    runtime: str
    timeout: int
    memory: int
    layer_dirs: tuple[Path, ...]
    environment: dict[str, Any]


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer of the HTTP API."""

    name: str
    function: str
    identity_headers: tuple[str, ...]
    ttl_seconds: int
    simple_responses: bool
    payload_version: str


@dataclass(frozen=True)
class Route:
    """One HTTP API route: method ("ANY" for any) and path template with `{param}`."""

    method: str
    path: str
    function: str
    authorizer: str | None
    payload_version: str = "2.0"

    @property
    def route_key(self) -> str:
        """The route key API Gateway puts in events, e.g. `POST /v1/Things/{Sid}`."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueTrigger:
    """An SQS event source mapping."""

    logical_id: str
    queue: str
    function: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True


@dataclass(frozen=True)
class StreamTrigger:
    """A DynamoDB stream event source mapping."""

    logical_id: str
    table: str
    function: str
    batch_size: int
    report_batch_item_failures: bool
    starting_position: str
    maximum_retry_attempts: int
    """-1: until the record expires from the stream (Lambda's default)."""
    on_failure: str | None
    """The logical id of the OnFailure destination (an SQS queue), if any."""
    filters: Filters
    enabled: bool = True


@dataclass(frozen=True)
class Schedule:
    """An EventBridge rule or Scheduler schedule that invokes a function."""

    logical_id: str
    function: str
    expression: str
    input: str | None
    kind: str  # "rule" (AWS::Events::Rule) or "scheduler" (AWS::Scheduler::Schedule)
    enabled: bool = True

    @property
    def rate_seconds(self) -> int | None:
        """The period of a `rate(...)` expression in seconds; None for `cron(...)`."""
        match = _RATE.match(self.expression.strip())
        if not match:
            return None
        amount, unit = int(match.group(1)), match.group(2).rstrip("s")
        return amount * _UNIT_SECONDS[unit]


@dataclass
class Template:
    """The SAM template, its CloudFormation translation and the model read from them."""

    path: Path
    sam: dict[str, Any]
    translated: dict[str, Any]
    region: str
    functions: dict[str, Function] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    queue_triggers: list[QueueTrigger] = field(default_factory=list)
    stream_triggers: list[StreamTrigger] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    code_dirs: dict[str, Path] = field(default_factory=dict)
    function_urls: dict[str, str] = field(default_factory=dict)
    """Function logical id → the logical id of its `AWS::Lambda::Url`."""

    @property
    def parameters(self) -> dict[str, Any]:
        """The template's Parameters section."""
        return self.sam.get("Parameters", {})

    def parameter_defaults(self) -> dict[str, str]:
        """Each parameter's Default, as the string CloudFormation would pass."""
        return {
            name: _as_parameter_string(spec["Default"])
            for name, spec in self.parameters.items()
            if "Default" in spec
        }


def _as_parameter_string(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
