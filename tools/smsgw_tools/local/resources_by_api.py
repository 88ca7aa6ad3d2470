"""The template's resources that moto's CloudFormation cannot create but its services can,
created through their own APIs from the same template properties: Secrets Manager secrets,
CloudWatch alarms, and Application Auto Scaling's targets and policies (those of a
PROVISIONED table). Each creator returns the resource's physical id."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smsgw_tools.local.resources import Stack


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


DIRECT_CREATORS: dict[str, Callable[[Callable[[str], Any], Stack, str, Any], str]] = {
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::ApplicationAutoScaling::ScalableTarget": _register_scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": _put_scaling_policy,
}
