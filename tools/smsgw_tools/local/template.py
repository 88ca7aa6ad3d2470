"""Read `template.yaml` into a typed model of what the local stack has to run.

The SAM template is translated with aws-sam-translator exactly as `sam deploy` would, so
routes, authorizers and event source mappings come from the same CloudFormation that AWS
gets. Code locations are replaced by placeholders for the translation and kept aside.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from smsgw_tools.local.streams import Filters

DEFAULT_REGION = "us-east-1"
PLACEHOLDER_BUCKET = "local-code"
_CODE_KEYS = ("CodeUri", "ContentUri")
_HTTP_METHODS = (
    "get",
    "put",
    "post",
    "delete",
    "patch",
    "head",
    "options",
    "x-amazon-apigateway-any-method",
)
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


class _NoManagedPolicies:
    """Managed-policy loader for the translator; local runs have no IAM."""

    def load(self) -> dict[str, str]:
        return {}


def default_template_path() -> Path:
    """`template.yaml` at the repository root (three levels above this package)."""
    return Path(__file__).resolve().parents[3] / "template.yaml"


def load(
    path: str | Path | None = None,
    region: str = DEFAULT_REGION,
    parameters: dict[str, str] | None = None,
) -> Template:
    """Parse, translate and model the SAM template at `path` (default: the repo's).

    `parameters` override the template's parameter defaults where the model needs a
    value (the authorizer cache TTL).
    """
    path = Path(path) if path else default_template_path()
    sam, translated = _parsed_and_translated(path, region)
    code_dirs = _code_dirs(sam, path.parent)
    template = Template(path=path, sam=sam, translated=translated, region=region)
    template.code_dirs = code_dirs
    template.functions = _functions(translated, code_dirs)
    template.authorizers = _authorizers(
        translated, template.parameter_defaults() | (parameters or {})
    )
    template.routes = _routes(translated)
    template.queue_triggers = _queue_triggers(translated)
    template.stream_triggers = _stream_triggers(translated)
    template.schedules = _schedules(translated)
    template.function_urls = _function_urls(translated)
    return template


_TRANSLATIONS: dict[tuple[Path, int, str], tuple[dict[str, Any], dict[str, Any]]] = {}
"""Parsed and translated templates by (path, modification time, region): the translator
takes most of a stack's creation, and the tests create hundreds of stacks."""


def _parsed_and_translated(path: Path, region: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SAM template at `path` and its translation, each a copy of its own to the caller."""
    key = (path.resolve(), path.stat().st_mtime_ns, region)
    if key not in _TRANSLATIONS:
        sam = yaml_parse(path.read_text())
        _TRANSLATIONS[key] = (sam, translate(sam, region))
    sam, translated = _TRANSLATIONS[key]
    return copy.deepcopy(sam), copy.deepcopy(translated)


def translate(sam: dict[str, Any], region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Translate a SAM template to CloudFormation, code locations replaced by placeholders."""
    sam = copy.deepcopy(sam)
    for logical_id, resource in sam.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        for key in _CODE_KEYS:
            if key in properties:
                properties[key] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}"
    # The translator reads the region from the environment, like the SAM CLI.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(sam, {}, _NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def ref_target(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at, if `value` is one."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
    return None


def references(value: Any) -> set[str]:
    """Every logical id or parameter that `value` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        target = ref_target(value)
        if target:
            found.add(target)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            names = {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            found |= names - set(variables)
            found |= references(variables)
        for key, item in value.items():
            if key not in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                found |= references(item)
    return found


def _as_parameter_string(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _code_dirs(sam: dict[str, Any], root: Path) -> dict[str, Path]:
    dirs: dict[str, Path] = {}
    for logical_id, resource in sam.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        for key in _CODE_KEYS:
            if isinstance(properties.get(key), str):
                dirs[logical_id] = (root / properties[key]).resolve()
    return dirs


def _placeholder_owner(location: Any) -> str | None:
    if isinstance(location, dict) and location.get("S3Bucket") == PLACEHOLDER_BUCKET:
        return location.get("S3Key")
    return None


def _layer_dirs(
    layers: list[Any], resources: dict[str, Any], code_dirs: dict[str, Path]
) -> tuple[Path, ...]:
    dirs: list[Path] = []
    for layer in layers:
        resource = resources.get(ref_target(layer) or "", {})
        owner = _placeholder_owner(resource.get("Properties", {}).get("Content"))
        # A layer built from requirements (e.g. the deps layer) is the venv itself locally.
        if owner and (code_dirs[owner] / "python").is_dir():
            dirs.append(code_dirs[owner] / "python")
    return tuple(dirs)


def _functions(translated: dict[str, Any], code_dirs: dict[str, Path]) -> dict[str, Function]:
    resources = translated["Resources"]
    functions: dict[str, Function] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        owner = _placeholder_owner(properties.get("Code"))
        if owner is None:
            continue  # inline (ZipFile) or image code: not something this runtime serves
        functions[logical_id] = Function(
            logical_id=logical_id,
            handler=properties["Handler"],
            code_dir=code_dirs[owner],
            runtime=properties.get("Runtime", ""),
            timeout=int(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
            layer_dirs=_layer_dirs(properties.get("Layers", []), resources, code_dirs),
            environment=dict(properties.get("Environment", {}).get("Variables", {})),
        )
    return functions


def _function_of_uri(uri: Any) -> str | None:
    """The function logical id inside an integration or authorizer URI `Fn::Sub`."""
    if not isinstance(uri, dict) or "Fn::Sub" not in uri:
        return None
    sub = uri["Fn::Sub"]
    text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
    match = re.search(r"functions/\$\{([^}.]+)(?:\.Arn)?\}/invocations", text)
    if not match:
        return None
    name = match.group(1)
    return ref_target(variables[name]) if name in variables else name


def _api_bodies(translated: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        resource["Properties"]["Body"]
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::ApiGatewayV2::Api" and "Body" in resource.get("Properties", {})
    ]


def _authorizers(translated: dict[str, Any], parameters: dict[str, str]) -> dict[str, Authorizer]:
    authorizers: dict[str, Authorizer] = {}
    for body in _api_bodies(translated):
        schemes = body.get("components", {}).get("securitySchemes", {})
        for name, scheme in schemes.items():
            spec = scheme.get("x-amazon-apigateway-authorizer", {})
            function = _function_of_uri(spec.get("authorizerUri"))
            if spec.get("type") != "request" or function is None:
                continue
            headers = tuple(
                source.removeprefix("$request.header.")
                for source in spec.get("identitySource", [])
                if source.startswith("$request.header.")
            )
            authorizers[name] = Authorizer(
                name=name,
                function=function,
                identity_headers=headers,
                ttl_seconds=_ttl(spec.get("authorizerResultTtlInSeconds", 0), parameters),
                simple_responses=bool(spec.get("enableSimpleResponses", False)),
                payload_version=str(spec.get("authorizerPayloadFormatVersion", "2.0")),
            )
    return authorizers


def _ttl(value: Any, parameters: dict[str, str]) -> int:
    if isinstance(value, dict) and "Ref" in value:
        return int(parameters.get(value["Ref"], 0))
    return int(value)


def _routes(translated: dict[str, Any]) -> list[Route]:
    routes: list[Route] = []
    for body in _api_bodies(translated):
        default_security = body.get("security", [])
        for path, operations in body.get("paths", {}).items():
            for method, operation in operations.items():
                if method not in _HTTP_METHODS:
                    continue
                integration = operation.get("x-amazon-apigateway-integration", {})
                function = _function_of_uri(integration.get("uri"))
                if function is None:
                    continue
                security = operation.get("security", default_security)
                # SAM writes `Auth: {Authorizer: NONE}` as a "NONE" requirement: no authorizer.
                names = [name for requirement in security for name in requirement if name != "NONE"]
                routes.append(
                    Route(
                        method="ANY" if method.startswith("x-amazon") else method.upper(),
                        path=path,
                        function=function,
                        authorizer=names[0] if names else None,
                        payload_version=str(integration.get("payloadFormatVersion", "2.0")),
                    )
                )
    return routes


def _function_urls(translated: dict[str, Any]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Url":
            target = ref_target(resource["Properties"]["TargetFunctionArn"])
            if target:
                urls[target] = logical_id
    return urls


def _queue_triggers(translated: dict[str, Any]) -> list[QueueTrigger]:
    triggers: list[QueueTrigger] = []
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        queue = ref_target(properties.get("EventSourceArn"))
        queue_type = translated["Resources"].get(queue or "", {}).get("Type")
        if queue is None or queue_type != "AWS::SQS::Queue":
            continue  # DynamoDB streams: _stream_triggers; Kinesis is not emulated
        triggers.append(
            QueueTrigger(
                logical_id=logical_id,
                queue=queue,
                function=ref_target(properties["FunctionName"]) or "",
                batch_size=int(properties.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
                enabled=bool(properties.get("Enabled", True)),
            )
        )
    return triggers


def _stream_triggers(translated: dict[str, Any]) -> list[StreamTrigger]:
    """The DynamoDB stream event source mappings (`EventSourceArn: !GetAtt T.StreamArn`).
    Raises UnsupportedFilterError for FilterCriteria the local stack cannot apply."""
    triggers: list[StreamTrigger] = []
    resources = translated["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        source = properties.get("EventSourceArn")
        table = ref_target(source)
        if resources.get(table or "", {}).get("Type") != "AWS::DynamoDB::Table":
            continue
        if source != {"Fn::GetAtt": [table, "StreamArn"]}:
            raise ValueError(f"{logical_id}: a table's event source must be its StreamArn")
        destination = (properties.get("DestinationConfig") or {}).get("OnFailure") or {}
        triggers.append(
            StreamTrigger(
                logical_id=logical_id,
                table=table or "",
                function=ref_target(properties["FunctionName"]) or "",
                batch_size=int(properties.get("BatchSize", 100)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
                starting_position=str(properties.get("StartingPosition", "TRIM_HORIZON")),
                maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
                on_failure=ref_target(destination.get("Destination")),
                filters=Filters.from_criteria(properties.get("FilterCriteria")),
                enabled=bool(properties.get("Enabled", True)),
            )
        )
    return triggers


def _schedules(translated: dict[str, Any]) -> list[Schedule]:
    schedules: list[Schedule] = []
    for logical_id, resource in translated["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Events::Rule" and "ScheduleExpression" in properties:
            enabled = properties.get("State", "ENABLED") == "ENABLED"
            for target in properties.get("Targets", []):
                schedules.append(
                    Schedule(
                        logical_id=logical_id,
                        function=ref_target(target.get("Arn")) or "",
                        expression=properties["ScheduleExpression"],
                        input=target.get("Input"),
                        kind="rule",
                        enabled=enabled,
                    )
                )
        elif resource["Type"] == "AWS::Scheduler::Schedule":
            target = properties.get("Target", {})
            schedules.append(
                Schedule(
                    logical_id=logical_id,
                    function=ref_target(target.get("Arn")) or "",
                    expression=properties["ScheduleExpression"],
                    input=target.get("Input"),
                    kind="scheduler",
                    enabled=properties.get("State", "ENABLED") == "ENABLED",
                )
            )
    return schedules
