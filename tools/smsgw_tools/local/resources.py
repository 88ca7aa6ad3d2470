"""Create the template's data resources in moto through CloudFormation.

The translated template is filtered to the resources that carry no code and that moto's
CloudFormation can create (tables, queues, topics, ...); the local runtime plays the
functions, the gateway plays the HTTP API. A few types moto's CloudFormation lacks but its
services support (Secrets Manager secrets, CloudWatch alarms) are created through their
own APIs afterwards (so are Application Auto Scaling's targets and policies, those of a
PROVISIONED table), and properties moto's CloudFormation ignores (a table's TTL) are
applied the same way. `Stack` then resolves function environments the way CloudFormation
would, so handlers see the same names and URLs here as in AWS. The log groups are created
with their retention, but nothing writes to them locally: the runtime's functions log to
the console and the gateway keeps no access log.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from smsgw_tools.local import template as tpl
from smsgw_tools.local.moto_server import DUMMY_CREDENTIALS

# Resources the local runtime and gateway play; CloudFormation in moto never sees them.
_RUNTIME_PREFIXES = (
    "AWS::Lambda::",
    "AWS::IAM::",
    "AWS::ApiGateway",
    "AWS::Serverless::",
    "AWS::Scheduler::",
)
# Types the local stack leaves out on purpose, with what happens locally instead.
_NOT_EMULATED = {
    "AWS::Lambda::EventInvokeConfig": (
        "asynchronous retries and destinations are not emulated: the local schedule "
        "logs a failed invocation"
    ),
}
_HIDDEN_OUTPUT = "LocalStack"
_PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId"}
_PSEUDO |= {"AWS::Partition", "AWS::URLSuffix", "AWS::NoValue", "AWS::NotificationARNs"}


class _NoValue:
    """What `!Ref AWS::NoValue` resolves to: the key or list item holding it is dropped."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass
class Plan:
    """How each translated resource is created locally."""

    cloudformation: dict[str, Any]
    direct: dict[str, Any]
    skipped: dict[str, str]


@dataclass
class Stack:
    """A deployed local stack: physical ids, outputs and intrinsic resolution."""

    name: str
    region: str
    account_id: str
    template: tpl.Template
    parameters: dict[str, str]
    physical_ids: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def function_name(self, logical_id: str) -> str:
        """The function name the local runtime uses for a function's logical id."""
        return f"{self.name}-{logical_id}"[:64]

    def function_arn(self, logical_id: str) -> str:
        """The ARN a function would have in this account and region."""
        name = self.function_name(logical_id)
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"

    def ref(self, name: str) -> str:
        """What `!Ref name` evaluates to: parameter value, pseudo parameter or physical id."""
        if name in self.parameters:
            return self.parameters[name]
        if name in _PSEUDO:
            return self._pseudo(name)
        if name in self.physical_ids:
            return self.physical_ids[name]
        if self._type(name) == "AWS::Lambda::Function":
            return self.function_name(name)
        if self._type(name) == "AWS::ApiGatewayV2::Api":
            return "local" + name.lower()  # played by the local gateway; its id is not real
        raise LookupError(f"!Ref {name}: not created by the local stack ({self._why(name)})")

    def get_att(self, name: str, attribute: str) -> str:
        """What `!GetAtt name.attribute` evaluates to."""
        if (name, attribute) in self.attributes:
            return self.attributes[(name, attribute)]
        kind = self._type(name)
        if kind == "AWS::SQS::Queue" and attribute in ("QueueUrl", "QueueName"):
            url = self.ref(name)
            return url if attribute == "QueueUrl" else url.rsplit("/", 1)[-1]
        if kind == "AWS::SecretsManager::Secret" and attribute in ("Id", "Arn"):
            return self.ref(name)
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return self.function_arn(name)
        if kind == "AWS::Lambda::Url" and attribute == "FunctionUrl":
            # The local stack serves it and records its address in `attributes`; elsewhere
            # (a stack deployed for in-process tests) the shape of a real one.
            return f"https://{name.lower()}.lambda-url.{self.region}.on.aws/"
        raise LookupError(f"!GetAtt {name}.{attribute}: not available locally ({self._why(name)})")

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions in `value` against this stack.

        Keys and list items that resolve to `AWS::NoValue` are dropped, as CloudFormation
        drops them; `value` itself resolving to it gives `NO_VALUE`.
        """
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler:
                return handler(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def function_environment(self, function_logical_id: str) -> dict[str, str]:
        """A function's environment variables (Globals merged with its own), resolved."""
        function = self.template.functions[function_logical_id]
        return {name: str(value) for name, value in self.resolve(function.environment).items()}

    def queue_url(self, logical_id: str) -> str:
        """The URL of a queue resource."""
        return self.get_att(logical_id, "QueueUrl")

    def queue_arn(self, logical_id: str) -> str:
        """The ARN of a queue resource."""
        return self.get_att(logical_id, "Arn")

    def _type(self, name: str) -> str | None:
        return self.template.translated["Resources"].get(name, {}).get("Type")

    def _why(self, name: str) -> str:
        return self.skipped.get(name, "no such resource or parameter")

    def _pseudo(self, name: str) -> str:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.name}/local"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": "",
        }[name]


def _resolve_ref(stack: Stack, name: str) -> Any:
    return NO_VALUE if name == "AWS::NoValue" else stack.ref(name)


def _resolve_get_att(stack: Stack, argument: Any) -> str:
    name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
    return stack.get_att(name, attribute)


def _resolve_sub(stack: Stack, argument: Any) -> str:
    text, variables = argument if isinstance(argument, list) else (argument, {})
    values = {key: str(stack.resolve(item)) for key, item in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in values:
            return values[name]
        if "." in name and name.split(".", 1)[0] not in stack.parameters:
            resource, attribute = name.split(".", 1)
            return stack.get_att(resource, attribute)
        return stack.ref(name)

    return re.sub(r"\$\{([^}]+)\}", substitute, text)


def _resolve_if(stack: Stack, argument: Any) -> Any:
    condition, when_true, when_false = argument
    return stack.resolve(when_true if _condition(stack, condition) else when_false)


def _condition(stack: Stack, name: str) -> bool:
    """Evaluate a template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""

    def evaluate(value: Any) -> bool:
        ((key, argument),) = value.items()
        if key == "Condition":
            return _condition(stack, argument)
        if key == "Fn::Equals":
            left, right = (stack.resolve(item) for item in argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not evaluate(argument[0])
        if key == "Fn::And":
            return all(evaluate(item) for item in argument)
        if key == "Fn::Or":
            return any(evaluate(item) for item in argument)
        raise LookupError(f"condition {name}: {key} is not supported locally")

    return evaluate(stack.template.translated.get("Conditions", {})[name])


def _resolve_join(stack: Stack, argument: Any) -> str:
    separator, items = argument
    return separator.join(str(item) for item in stack.resolve(items))


def _resolve_select(stack: Stack, argument: Any) -> Any:
    index, items = argument
    return stack.resolve(items)[int(stack.resolve(index))]


def _resolve_split(stack: Stack, argument: Any) -> list[str]:
    separator, text = argument
    return str(stack.resolve(text)).split(separator)


_INTRINSICS: dict[str, Callable[[Stack, Any], Any]] = {
    "Ref": _resolve_ref,
    "Fn::Split": _resolve_split,
    "Fn::GetAtt": _resolve_get_att,
    "Fn::Sub": _resolve_sub,
    "Fn::Join": _resolve_join,
    "Fn::Select": _resolve_select,
    "Fn::If": _resolve_if,
}


def supported_by_moto_cloudformation() -> set[str]:
    """Resource types moto's CloudFormation can create."""
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


def plan(translated: dict[str, Any]) -> Plan:
    """Decide, per translated resource, whether CloudFormation, an API call or nobody creates it."""
    supported = supported_by_moto_cloudformation()
    cloudformation: dict[str, Any] = {}
    direct: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for logical_id, resource in translated["Resources"].items():
        kind = resource["Type"]
        if kind in _NOT_EMULATED:
            skipped[logical_id] = f"{kind}: {_NOT_EMULATED[kind]}"
        elif kind.startswith(_RUNTIME_PREFIXES):
            skipped[logical_id] = f"{kind} is played by the local runtime"
        elif kind in _DIRECT_CREATORS:
            direct[logical_id] = resource
        elif kind in supported:
            cloudformation[logical_id] = resource
        else:
            skipped[logical_id] = f"{kind} is not supported by moto"
    _drop_dangling(cloudformation, direct, skipped)
    return Plan(cloudformation=cloudformation, direct=direct, skipped=skipped)


def _drop_dangling(
    cloudformation: dict[str, Any], direct: dict[str, Any], skipped: dict[str, str]
) -> None:
    """Skip resources that refer to skipped ones, until nothing changes."""
    changed = True
    while changed:
        changed = False
        for group, outside in (
            (cloudformation, set(skipped) | set(direct)),
            (direct, set(skipped)),
        ):
            for logical_id, resource in list(group.items()):
                depends = resource.get("DependsOn", [])
                depends = [depends] if isinstance(depends, str) else depends
                missing = sorted(
                    (tpl.references(resource.get("Properties", {})) | set(depends)) & outside
                )
                if missing:
                    skipped[logical_id] = f"refers to {', '.join(missing)}, which is not created"
                    del group[logical_id]
                    changed = True
                    outside = outside | {logical_id}


def cloudformation_template(template: tpl.Template, resource_plan: Plan) -> dict[str, Any]:
    """The template moto's CloudFormation gets, with hidden outputs for every Ref and GetAtt."""
    translated = template.translated
    kept = set(resource_plan.cloudformation)
    known = kept | set(translated.get("Parameters", {})) | _PSEUDO
    outputs = {
        name: output
        for name, output in translated.get("Outputs", {}).items()
        if tpl.references(output.get("Value")) <= known
    }
    for logical_id in sorted(kept):
        outputs[_hidden_key(logical_id, "Ref")] = {"Value": {"Ref": logical_id}}
    for logical_id, attribute in sorted(_attributes_used(translated, kept)):
        outputs[_hidden_key(logical_id, attribute)] = {
            "Value": {"Fn::GetAtt": [logical_id, attribute]}
        }
    body: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": translated.get("Parameters", {}),
        "Resources": resource_plan.cloudformation,
        "Outputs": outputs,
    }
    if "Conditions" in translated:
        body["Conditions"] = translated["Conditions"]
    return body


def _hidden_key(logical_id: str, attribute: str) -> str:
    return _HIDDEN_OUTPUT + re.sub(r"[^A-Za-z0-9]", "", f"{logical_id}X{attribute}")


def _attributes_used(translated: dict[str, Any], kept: set[str]) -> set[tuple[str, str]]:
    """Every `GetAtt` on a kept resource anywhere in the template that moto can answer."""
    from moto.cloudformation.parsing import get_model_map

    models = get_model_map()
    found: set[tuple[str, str]] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Fn::GetAtt":
                    name, attribute = item if isinstance(item, list) else item.split(".", 1)
                    found.add((name, attribute))
                elif key == "Fn::Sub":
                    text = item[0] if isinstance(item, list) else item
                    for match in re.findall(r"\$\{([^!}.]+)\.([^}]+)\}", text):
                        found.add(match)
                walk(item)

    walk(translated)
    for name in kept:
        found.add((name, "Arn"))
    resources = translated["Resources"]
    return {
        (name, attribute)
        for name, attribute in found
        if name in kept and models[resources[name]["Type"]].has_cfn_attr(attribute)
    }


def deploy(
    session_or_endpoint_url: boto3.session.Session | str | None = None,
    stack_name: str = "smsgw-local",
    parameters: dict[str, str] | None = None,
    *,
    endpoint_url: str | None = None,
    template: tpl.Template | None = None,
) -> Stack:
    """Create the template's data resources in moto and return the deployed `Stack`.

    Pass a moto server's URL, or a boto3 session (with `endpoint_url` for a server, or
    none inside `moto.mock_aws`).
    """
    session, endpoint_url = _session(session_or_endpoint_url, endpoint_url)
    region = session.region_name or tpl.DEFAULT_REGION
    template = template or tpl.load(region=region, parameters=parameters)
    values = template.parameter_defaults() | {k: str(v) for k, v in (parameters or {}).items()}

    def client(service: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint_url)

    resource_plan = plan(template.translated)
    account_id = client("sts").get_caller_identity()["Account"]
    stack = Stack(
        name=stack_name,
        region=region,
        account_id=account_id,
        template=template,
        parameters=values,
        skipped=dict(resource_plan.skipped),
    )
    _create_stack(client("cloudformation"), stack, resource_plan)
    _apply_ignored_properties(client, stack, resource_plan)
    for logical_id, resource in _in_creation_order(resource_plan.direct):
        condition = resource.get("Condition")
        if condition and not _condition(stack, condition):
            stack.skipped[logical_id] = f"condition {condition} is false"
            continue
        creator = _DIRECT_CREATORS[resource["Type"]]
        stack.physical_ids[logical_id] = creator(
            client, stack, logical_id, resource.get("Properties", {})
        )
    return stack


def _in_creation_order(resources: dict[str, Any]) -> list[tuple[str, Any]]:
    """The resources, each after those of them it refers to (a policy after its target)."""
    ordered: list[tuple[str, Any]] = []
    placed: set[str] = set()

    def place(logical_id: str, seen: frozenset[str] = frozenset()) -> None:
        if logical_id in placed or logical_id in seen:
            return
        resource = resources[logical_id]
        for name in sorted(tpl.references(resource.get("Properties", {})) & set(resources)):
            place(name, seen | {logical_id})
        placed.add(logical_id)
        ordered.append((logical_id, resource))

    for logical_id in resources:
        place(logical_id)
    return ordered


def _session(
    session_or_endpoint_url: boto3.session.Session | str | None, endpoint_url: str | None
) -> tuple[boto3.session.Session, str | None]:
    if isinstance(session_or_endpoint_url, boto3.session.Session):
        return session_or_endpoint_url, endpoint_url
    session = boto3.session.Session(region_name=tpl.DEFAULT_REGION, **DUMMY_CREDENTIALS)
    return session, session_or_endpoint_url or endpoint_url


def _create_stack(cloudformation: Any, stack: Stack, resource_plan: Plan) -> None:
    body = cloudformation_template(stack.template, resource_plan)
    declared = body["Parameters"]
    cloudformation.create_stack(
        StackName=stack.name,
        TemplateBody=json.dumps(body),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in stack.parameters.items()
            if key in declared
        ],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=stack.name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack.name):
        for summary in page["StackResourceSummaries"]:
            stack.physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
    kept = set(resource_plan.cloudformation)
    hidden = {
        _hidden_key(name, attribute): (name, attribute)
        for name, attribute in _attributes_used(stack.template.translated, kept)
    }
    for output in described.get("Outputs", []):
        key, value = output["OutputKey"], output["OutputValue"]
        if key in hidden:
            stack.attributes[hidden[key]] = value
        elif not key.startswith(_HIDDEN_OUTPUT):
            stack.outputs[key] = value


def _apply_ignored_properties(
    client: Callable[[str], Any], stack: Stack, resource_plan: Plan
) -> None:
    """Apply the table properties moto's CloudFormation accepts but does not act on."""
    for logical_id, resource in resource_plan.cloudformation.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = stack.resolve(resource.get("Properties", {}))
        table = stack.physical_ids[logical_id]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client("dynamodb").update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        recovery = properties.get("PointInTimeRecoverySpecification", {})
        if recovery.get("PointInTimeRecoveryEnabled"):
            client("dynamodb").update_continuous_backups(
                TableName=table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )


def _generated_name(stack: Stack, logical_id: str) -> str:
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    return f"{stack.name}-{logical_id}-{suffix}"


def _create_secret(
    client: Callable[[str], Any], stack: Stack, logical_id: str, properties: Any
) -> str:
    properties = stack.resolve(properties)
    name = properties.get("Name") or _generated_name(stack, logical_id)
    if "SecretString" in properties:
        value = properties["SecretString"]
    else:
        generate = properties.get("GenerateSecretString", {})
        value = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))
        if "SecretStringTemplate" in generate:
            value = json.dumps(
                json.loads(generate["SecretStringTemplate"])
                | {generate["GenerateStringKey"]: value}
            )
    arguments = {"Name": name, "SecretString": value}
    for key in ("Description", "KmsKeyId", "Tags"):
        if key in properties:
            arguments[key] = properties[key]
    return client("secretsmanager").create_secret(**arguments)["ARN"]


_ALARM_KEYS = {
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
    "InsufficientDataActions", "MetricName", "Namespace", "Statistic", "ExtendedStatistic",
    "Dimensions", "Period", "Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
    "ComparisonOperator", "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics",
    "ThresholdMetricId",
}  # fmt: skip


def _create_alarm(
    client: Callable[[str], Any], stack: Stack, logical_id: str, properties: Any
) -> str:
    properties = stack.resolve(properties)
    arguments = {key: value for key, value in properties.items() if key in _ALARM_KEYS}
    arguments.setdefault("AlarmName", _generated_name(stack, logical_id))
    if "Threshold" in arguments:
        arguments["Threshold"] = float(arguments["Threshold"])
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in arguments:
            arguments[key] = int(arguments[key])
    client("cloudwatch").put_metric_alarm(**arguments)
    return arguments["AlarmName"]


def _register_scalable_target(
    client: Callable[[str], Any], stack: Stack, logical_id: str, properties: Any
) -> str:
    properties = stack.resolve(properties)
    arguments = {
        "ServiceNamespace": properties["ServiceNamespace"],
        "ResourceId": properties["ResourceId"],
        "ScalableDimension": properties["ScalableDimension"],
        "MinCapacity": int(properties["MinCapacity"]),
        "MaxCapacity": int(properties["MaxCapacity"]),
    }
    if "RoleARN" in properties:
        arguments["RoleARN"] = properties["RoleARN"]
    client("application-autoscaling").register_scalable_target(**arguments)
    # CloudFormation's id of a scalable target, what a policy's ScalingTargetId names.
    return "|".join(
        arguments[key] for key in ("ResourceId", "ScalableDimension", "ServiceNamespace")
    )


def _put_scaling_policy(
    client: Callable[[str], Any], stack: Stack, logical_id: str, properties: Any
) -> str:
    properties = stack.resolve(properties)
    # the template names its target (the id `_register_scalable_target` returns)
    resource_id, dimension, namespace = properties["ScalingTargetId"].split("|")
    arguments = {
        "PolicyName": properties["PolicyName"],
        "ServiceNamespace": namespace,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "PolicyType": properties["PolicyType"],
    }
    tracking = properties["TargetTrackingScalingPolicyConfiguration"]
    arguments["TargetTrackingScalingPolicyConfiguration"] = tracking | {
        "TargetValue": float(tracking["TargetValue"])
    }
    policy = client("application-autoscaling").put_scaling_policy(**arguments)
    return policy["PolicyARN"]


_DIRECT_CREATORS: dict[str, Callable[[Callable[[str], Any], Stack, str, Any], str]] = {
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::ApplicationAutoScaling::ScalableTarget": _register_scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": _put_scaling_policy,
}
