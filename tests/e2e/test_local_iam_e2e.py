"""IAM in the local stack: what the moto server enforces once told to, and what a role
missing a statement does to its function (docs/local-stack.md, "IAM")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from smsgw_tools.local import iam
from smsgw_tools.local.moto_server import REGION, MotoServer
from tests.support import wait_for

pytestmark = pytest.mark.e2e

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture(scope="module")
def enforcing() -> Iterator[dict[str, Any]]:
    """A moto server enforcing IAM: tables, queues, secrets and SES identities `t` and `t2`,
    and clients for a role allowed one action on each `t` only."""
    with MotoServer(iam=True) as server:
        admin = boto3.session.Session(
            region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
        admin = boto3.session.Session(
            region_name=REGION, **iam.create_admin(admin.client("iam", endpoint_url=server.url))
        )

        def client(service: str, session: Any = admin) -> Any:
            return session.client(service, endpoint_url=server.url)

        account = client("sts").get_caller_identity()["Account"]
        arns = {}
        for name in ("t", "t2"):
            client("dynamodb").create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            client("sqs").create_queue(QueueName=name)
            arns[name] = client("secretsmanager").create_secret(Name=name, SecretString="s")["ARN"]
            client("ses").verify_domain_identity(Domain=f"{name}.example")
        prefix = f"{REGION}:{account}"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:PutItem",
                    "Resource": f"arn:aws:dynamodb:{prefix}:table/t",
                },
                {
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": f"arn:aws:sqs:{prefix}:t",
                },
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": arns["t"],
                },
                {
                    "Effect": "Allow",
                    "Action": "ses:SendEmail",
                    "Resource": f"arn:aws:ses:{prefix}:identity/t.example",
                },
            ],
        }
        role = client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
        client("iam").put_role_policy(
            RoleName="r", PolicyName="p", PolicyDocument=json.dumps(policy)
        )
        credentials = iam.assume(client("sts"), role["Role"]["Arn"], "function")
        iam.enforce(server.url)
        function = boto3.session.Session(
            region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        yield {
            "function": lambda service: client(service, function),
            "admin": client,
            "queue": lambda name: f"{server.url}/{account}/{name}",
        }


CALLS = {
    "dynamodb:PutItem": lambda c, q, name: c("dynamodb").put_item(
        TableName=name, Item={"PK": {"S": "1"}}
    ),
    "sqs:SendMessage": lambda c, q, name: c("sqs").send_message(QueueUrl=q(name), MessageBody="m"),
    "secretsmanager:GetSecretValue": lambda c, q, name: c("secretsmanager").get_secret_value(
        SecretId=name
    ),
    "ses:SendEmail": lambda c, q, name: c("ses").send_email(
        Source=f"no-reply@{name}.example",
        Destination={"ToAddresses": ["someone@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    ),
}


def _outcome(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return "refused" if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403 else repr(exc)
    return "allowed"


@pytest.mark.parametrize("action", sorted(CALLS))
def test_a_role_allowed_an_action_on_one_resource_is_refused_it_on_another(enforcing, action):
    call = CALLS[action]
    function, queue = enforcing["function"], enforcing["queue"]

    outcomes = [_outcome(lambda name=name: call(function, queue, name)) for name in ("t", "t2")]

    assert outcomes == ["allowed", "refused"]


def test_the_role_is_refused_an_action_it_is_not_allowed_and_the_admin_is_not(enforcing):
    function, admin = enforcing["function"], enforcing["admin"]
    get = lambda client: client("dynamodb").get_item(TableName="t", Key={"PK": {"S": "1"}})  # noqa: E731

    assert (_outcome(lambda: get(function)), _outcome(lambda: get(admin))) == ("refused", "allowed")


def test_a_send_fails_when_the_api_role_loses_its_send_queue_statement(twilio_stack, local_stack):
    # Given the API function's role without the statement that lets it queue a send
    client = twilio_stack.client("iam")
    role = f"{twilio_stack.stack.name}-ApiFunctionRole"
    policies = {
        name: client.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in client.list_role_policies(RoleName=role)["PolicyNames"]
    }
    name, document = next(
        (name, document)
        for name, document in policies.items()
        if "sqs:SendMessage" in json.dumps(document)
    )
    statements = document["Statement"]
    without = [s for s in statements if "sqs:SendMessage" not in json.dumps(s["Action"])]
    assert len(without) == len(statements) - 1
    url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    body = {"From": "+61499009990", "To": "+61488023601", "Text": "Queued?"}
    key = {"Idempotency-Key": f"iam-{uuid.uuid4()}"}
    client.put_role_policy(
        RoleName=role,
        PolicyName=name,
        PolicyDocument=json.dumps({**document, "Statement": without}),
    )

    # When a send is made, and made again with the same key once the statement is back
    try:
        refused = requests.post(url, auth=auth, json=body, headers=key, timeout=20)
    finally:
        client.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
    accepted = requests.post(url, auth=auth, json=body, headers=key, timeout=20)

    # Then the first fails as in AWS (its message stored as failed, the key released), and
    # the retry is a new send, not a replay of the failure
    assert (refused.status_code, accepted.status_code) == (500, 200)
    assert "Idempotent-Replayed" not in accepted.headers
    failed = requests.get(
        url, auth=auth, params={"To": body["To"], "Status": "failed"}, timeout=10
    ).json()["Messages"]
    assert [message["Status"] for message in failed] == ["failed"]
    sent = f"{url}/{accepted.json()['Message']['MessageSid']}"
    # (sent before the test ends, so the next test's simulator does not see it)
    assert wait_for(lambda: _status(sent, auth) in ("sent", "delivered"))


def _status(url: str, auth: tuple[str, str]) -> str:
    return requests.get(url, auth=auth, timeout=10).json()["Message"]["Status"]
