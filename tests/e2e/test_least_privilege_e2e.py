"""Each function's role allows what its code calls, and nothing more.

Every function's AWS calls are recorded during the session (`aws_calls_file`: the local
stack's workers, and the integration tests' in-process handlers), and this test runs
after all the others (tests/conftest.py). It compares them with the `Policies:` the
template gives each function, as the SAM translator expands them:

- every action the code called is allowed (moto enforces this for the AWS calls it serves;
  End User Messaging goes to the carrier simulator, which checks no IAM);
- every allowed action was called, unless the Lambda service calls it for the function
  (SERVICE_USED, each with its reason);
- actions are named, not wildcards, and resources are named, not `*`.

The managed policies SAM attaches (AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess and
the SQS and DynamoDB stream execution roles) are not checked: Lambda uses them to write the
function's logs and traces and to read its event sources; the code calls none of them.

It runs only when the whole e2e and integration suites were selected (as `make test` and CI
run them), so that every path was exercised (`make test` runs the suites in parallel
processes, recording into one file, then this test alone over it); the rare ones (reconcile, a scheduled release,
the sender's back-off, a webhook's retry) only the integration tests drive.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from smsgw_tools.local import iam
from smsgw_tools.template.loading import load
from tests.conftest import ALL_RECORDED, CALLS_FILE

pytestmark = pytest.mark.e2e

_STREAM_READ = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
SERVICE_USED: dict[str, dict[str, str]] = {
    "NotifierFunction": dict.fromkeys(
        _STREAM_READ,
        "the FinalStatuses event source mapping: Lambda reads the table's stream with the "
        "function's role; the code never calls DynamoDB Streams",
    ),
    "SchedulerFunction": {
        "sqs:SendMessage": "the on-failure destination (EventInvokeConfig): Lambda sends a "
        "failed asynchronous tick's record to SchedulerFailureQueue with the function's role; "
        "the code releases messages with SendMessageBatch only",
    },
}
"""Actions a function's role must allow that the Lambda service, not the code, calls."""


def allowed(function: str) -> list[tuple[str, Any]]:
    """(action, resource) for every statement action of the role's inline policies."""
    translated = load().translated
    role = translated["Resources"][iam.role_logical_id(translated, function)]
    pairs: list[tuple[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", statement
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                pairs.append((action, statement["Resource"]))
    return pairs


def recorded(calls_file: Path) -> dict[str, set[str]]:
    """The actions each function called during the session."""
    calls: dict[str, set[str]] = defaultdict(set)
    if calls_file.exists():
        for line in calls_file.read_text().splitlines():
            function, _, action = line.partition(" ")
            calls[function].add(action)
    return calls


def _matches(pattern: str, action: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), action) is not None


def findings(function: str, used: set[str], pairs: list[tuple[str, Any]]) -> list[str]:
    """What is wrong with a function's role, given the actions its code used."""
    problems: list[str] = []
    service_used = SERVICE_USED.get(function, {})
    for action in sorted(used):
        if not any(_matches(pattern, action) for pattern, _ in pairs):
            problems.append(f"{function}: calls {action}, which its role does not allow")
    for pattern, resource in pairs:
        if "*" in pattern:
            problems.append(f"{function}: allows {pattern}: name the actions")
        elif pattern not in used and pattern not in service_used:
            problems.append(f"{function}: allows {pattern}, which it never calls")
        resources = resource if isinstance(resource, list) else [resource]
        if "*" in resources:
            problems.append(f"{function}: allows {pattern} on *: name the resource")
    return problems


def test_findings_name_unused_wildcard_and_unscoped_grants():
    pairs = [
        ("dynamodb:GetItem", "arn:table"),
        ("dynamodb:PutItem", "arn:table"),
        ("sqs:SendMessage*", "arn:queue"),
        ("ses:SendEmail", "*"),
    ]

    problems = findings("F", {"dynamodb:GetItem", "ses:SendEmail", "s3:GetObject"}, pairs)

    assert problems == [
        "F: calls s3:GetObject, which its role does not allow",
        "F: allows dynamodb:PutItem, which it never calls",
        "F: allows sqs:SendMessage*: name the actions",
        "F: allows ses:SendEmail on *: name the resource",
    ]


def test_every_role_allows_exactly_what_its_function_calls(request, aws_calls_file):
    if not request.config.stash.get(ALL_RECORDED, False):
        if os.environ.get(CALLS_FILE):
            pytest.fail(f"{aws_calls_file} was not recorded over every e2e and integration test")
        pytest.skip(
            "only over the whole e2e and integration suites in one process, or with "
            f"{CALLS_FILE} shared by the workers (make test): a part misses paths"
        )
    used = recorded(aws_calls_file)
    functions = load().functions

    problems = [
        problem
        for function in sorted(functions)
        for problem in findings(function, used.get(function, set()), allowed(function))
    ]

    assert set(used) <= set(functions)
    assert problems == []
