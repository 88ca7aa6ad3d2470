"""Read `template.yaml` into the typed model of what the tools need (`model.Template`).

The SAM template is translated as `sam deploy` would (`translation`), so routes,
authorizers and event source mappings come from the same CloudFormation that AWS gets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from smsgw_tools.local.streams import Filters
from smsgw_tools.template.intrinsics import ref_target
from smsgw_tools.template.model import (
    Authorizer,
    Function,
    QueueTrigger,
    Route,
    Schedule,
    StreamTrigger,
    Template,
)
from smsgw_tools.template.translation import (
    DEFAULT_REGION,
    PLACEHOLDER_BUCKET,
    code_dirs,
    default_template_path,
    parsed_and_translated,
)

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
    sam, translated = parsed_and_translated(path, region)
    directories = code_dirs(sam, path.parent)
    template = Template(path=path, sam=sam, translated=translated, region=region)
    template.code_dirs = directories
    template.functions = _functions(translated, directories)
    template.authorizers = _authorizers(
        translated, template.parameter_defaults() | (parameters or {})
    )
    template.routes = _routes(translated)
    template.queue_triggers = _queue_triggers(translated)
    template.stream_triggers = _stream_triggers(translated)
    template.schedules = _schedules(translated)
    template.function_urls = _function_urls(translated)
    return template


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
