"""Create the template's data resources in moto through CloudFormation.

The translated template is filtered to the resources that carry no code and that moto's
CloudFormation can create (tables, queues, topics, ...; `resource_plan` decides); the local
runtime plays the functions, the gateway plays the HTTP API. A few types moto's
CloudFormation lacks but its services support (Secrets Manager secrets, CloudWatch alarms,
Application Auto Scaling's targets and policies, those of a PROVISIONED table) are created
through their own APIs afterwards (`resources_by_api`), and properties moto's
CloudFormation ignores (a table's TTL) are applied the same way. `Stack` then resolves
function environments the way CloudFormation would (`smsgw_tools.template.intrinsics`), so
handlers see the same names and URLs here as in AWS. The log groups are created with their
retention, but nothing writes to them locally: the runtime's functions log to the console
and the gateway keeps no access log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from smsgw_tools.local.moto_cloudformation_types import MOTO_CLOUDFORMATION_ATTRIBUTES
from smsgw_tools.local.moto_server import DUMMY_CREDENTIALS
from smsgw_tools.local.resource_plan import Plan, plan
from smsgw_tools.local.resources_by_api import DIRECT_CREATORS
from smsgw_tools.template import intrinsics
from smsgw_tools.template.intrinsics import PSEUDO_PARAMETERS, references
from smsgw_tools.template.loading import load
from smsgw_tools.template.model import Template
from smsgw_tools.template.translation import DEFAULT_REGION

_HIDDEN_OUTPUT = "LocalStack"


@dataclass
class Stack:
    """A deployed local stack: physical ids, outputs and intrinsic resolution."""

    name: str
    region: str
    account_id: str
    template: Template
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
        if name in PSEUDO_PARAMETERS:
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

    @property
    def conditions(self) -> dict[str, Any]:
        """The template's Conditions section."""
        return self.template.translated.get("Conditions", {})

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions in `value` against this stack
        (`intrinsics.resolve`: keys and list items that resolve to `AWS::NoValue` are
        dropped; `value` itself resolving to it gives `NO_VALUE`)."""
        return intrinsics.resolve(self, value)

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


def cloudformation_template(template: Template, resource_plan: Plan) -> dict[str, Any]:
    """The template moto's CloudFormation gets, with hidden outputs for every Ref and GetAtt."""
    translated = template.translated
    kept = set(resource_plan.cloudformation)
    known = kept | set(translated.get("Parameters", {})) | PSEUDO_PARAMETERS
    outputs = {
        name: output
        for name, output in translated.get("Outputs", {}).items()
        if references(output.get("Value")) <= known
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
    resources = translated["Resources"]
    return {
        (name, attribute)
        for name, attribute in attributes_asked(translated, kept)
        if attribute in MOTO_CLOUDFORMATION_ATTRIBUTES.get(resources[name]["Type"], ())
    }


def attributes_asked(translated: dict[str, Any], kept: set[str]) -> set[tuple[str, str]]:
    """Every `GetAtt` on a kept resource anywhere in the template, and each one's `Arn`."""
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
    return {(name, attribute) for name, attribute in found if name in kept}


def deploy(
    session_or_endpoint_url: boto3.session.Session | str | None = None,
    stack_name: str = "smsgw-local",
    parameters: dict[str, str] | None = None,
    *,
    endpoint_url: str | None = None,
    template: Template | None = None,
) -> Stack:
    """Create the template's data resources in moto and return the deployed `Stack`.

    Pass a moto server's URL, or a boto3 session (with `endpoint_url` for a server, or
    none inside `moto.mock_aws`).
    """
    session, endpoint_url = _session(session_or_endpoint_url, endpoint_url)
    region = session.region_name or DEFAULT_REGION
    template = template or load(region=region, parameters=parameters)
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
        if condition and not intrinsics.evaluate_condition(stack, condition):
            stack.skipped[logical_id] = f"condition {condition} is false"
            continue
        creator = DIRECT_CREATORS[resource["Type"]]
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
        for name in sorted(references(resource.get("Properties", {})) & set(resources)):
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
    session = boto3.session.Session(region_name=DEFAULT_REGION, **DUMMY_CREDENTIALS)
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
