"""What template.yaml promises a security review: encryption keys, access logs, the public
function's concurrency bound, and a reason for every finding the scanner is told to skip."""

import json

import pytest

from smsgw_tools.local.resources import Stack
from smsgw_tools.template.intrinsics import NO_VALUE
from smsgw_tools.template.loading import load
from smsgw_tools.template.model import Template

KEY = "arn:aws:kms:us-east-1:123456789012:key/0b7c5f0e-0000-4000-8000-000000000000"
# Each stateful type and where its key goes.
KEY_PROPERTIES = {
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SecretsManager::Secret": ("KmsKeyId",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::Lambda::Function": ("KmsKeyArn",),
}


@pytest.fixture(scope="module")
def template() -> Template:
    return load()


def _stack(template: Template, **parameters: str) -> Stack:
    values = template.parameter_defaults() | parameters
    return Stack("s", "us-east-1", "123456789012", template, values)


def _keys(stack: Stack) -> dict[str, object]:
    keys: dict[str, object] = {}
    for logical_id, resource in stack.template.translated["Resources"].items():
        path = KEY_PROPERTIES.get(resource["Type"])
        if path:
            value = resource["Properties"]
            for key in path:
                value = value.get(key, {})
            resolved = stack.resolve(value)
            keys[logical_id] = None if resolved is NO_VALUE else resolved
    return keys


def test_a_given_key_encrypts_every_table_queue_secret_log_group_and_environment(template):
    # When KmsKeyArn is given
    keys = _keys(_stack(template, KmsKeyArn=KEY))

    # Then every stateful resource and every function's environment names it
    assert len(keys) == 1 + 6 + 1 + 7 + 6
    assert set(keys.values()) == {KEY}


def test_without_a_key_the_aws_keys_stay(template):
    # When KmsKeyArn is empty (the default)
    stack = _stack(template)
    resources = stack.template.translated["Resources"]

    # Then no resource names a key, the queues use SQS-managed keys and the table SSE
    assert set(_keys(stack).values()) == {None}
    queues = [r for r in resources.values() if r["Type"] == "AWS::SQS::Queue"]
    assert {stack.resolve(q["Properties"]["SqsManagedSseEnabled"]) for q in queues} == {True}
    table = stack.resolve(resources["Table"]["Properties"]["SSESpecification"])
    assert table == {"SSEEnabled": True}


def test_the_access_log_has_the_request_account_route_status_and_latency_only(template):
    # Given the HTTP API stage's access log format
    stage = template.translated["Resources"]["HttpApiApiGatewayDefaultStage"]["Properties"]
    fields = json.loads(stage["AccessLogSettings"]["Format"])

    # Then it is one JSON object of $context variables that never include a header
    assert fields["RequestId"] == "$context.requestId"
    assert fields["AccountSid"] == "$context.authorizer.AccountSid"
    assert fields["RouteKey"] == "$context.routeKey"
    assert fields["Status"] == "$context.status"
    assert fields["ResponseLatency"] == "$context.responseLatency"
    assert all(value.startswith("$context.") for value in fields.values())
    assert not any("header" in value.lower() for value in fields.values())
    assert stage["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]
    }


def test_the_public_webhooks_function_and_the_notifier_have_reserved_concurrency(template):
    # When deployed with sizes of its own
    stack = _stack(template, WebhooksReservedConcurrency="20", NotifierReservedConcurrency="30")
    resources = template.translated["Resources"]

    # Then each function is capped at its parameter
    reserved = {
        name: stack.resolve(resources[name]["Properties"]["ReservedConcurrentExecutions"])
        for name in ("WebhooksFunction", "NotifierFunction")
    }
    assert reserved == {"WebhooksFunction": "20", "NotifierFunction": "30"}


def test_every_scanner_skip_gives_its_reason(template):
    # Given checkov's skips in the template's resources' Metadata
    skips = [
        (logical_id, skip)
        for logical_id, resource in template.sam["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    # Then there are some, and each names a check and says why
    assert skips
    for logical_id, skip in skips:
        assert skip["id"].startswith("CKV_"), logical_id
        assert len(skip.get("comment", "")) > 40, (logical_id, skip["id"])
