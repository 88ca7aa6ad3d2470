"""IAM in the local stack: each function runs under its own role, with IAM enforced.

The harness (the stack's own calls, test set-up, the admin CLI against the stack) signs
with an admin user's access key, created while the moto server does not yet check
anything. Each function's role is created from the translated template (the roles the SAM
translator makes from `Policies:`, with the managed policies' documents inlined), and each
function's workers get session credentials from `sts:AssumeRole` on that role. Then the
server is told to enforce IAM from its next request (`/moto-api/reset-auth`, 0 requests
without a check), so the switch does not depend on how many calls creating the stack took.

moto checks the action for every service, but passes the resource `*` except for SQS (and
IAM, STS, S3): a statement that names a table or secret would then never match. The moto
server child calls `install_resource_arns()`, which gives DynamoDB, Secrets Manager and SES
the resource AWS evaluates (docs/local-stack.md, "IAM").
"""

from __future__ import annotations

import functools
import json
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import requests

from smsgw_tools.local.worker import TRANSACT_ACTIONS

if TYPE_CHECKING:  # the moto server's process imports this module, and needs none of it
    from smsgw_tools.local.resources import Stack

ADMIN_USER = "smsgw-local-admin"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
SESSION_SECONDS = 3600
"""A role's default maximum session. moto never expires session credentials, so one
AssumeRole per function lasts as long as the stack."""


def create_admin(iam: Any) -> dict[str, str]:
    """An IAM user allowed everything, and its access key, as boto3 session arguments."""
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(
        UserName=ADMIN_USER, PolicyName="AllowAll", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def role_logical_id(stack: Stack, function: str) -> str:
    """The logical id of the role the translated template gives a function."""
    role = stack.template.translated["Resources"][function]["Properties"]["Role"]
    return role["Fn::GetAtt"][0]


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def role_policies(stack: Stack, function: str) -> dict[str, Any]:
    """A function's role policies by name, resolved: the template's inline ones and the
    AWS managed ones (their documents as moto ships them)."""
    role = stack.template.translated["Resources"][role_logical_id(stack, function)]
    properties = stack.resolve(role["Properties"])
    policies = {
        item["PolicyName"]: item["PolicyDocument"] for item in properties.get("Policies", [])
    }
    managed = _aws_managed_policies()
    for arn in properties.get("ManagedPolicyArns", []):
        name = arn.rsplit("/", 1)[-1]
        policies[f"aws-managed-{name}"] = managed[name]["Document"]
    return policies


def create_roles(iam: Any, stack: Stack, functions: list[str] | None = None) -> dict[str, str]:
    """Create each function's role as the template declares it; their ARNs by function."""
    arns: dict[str, str] = {}
    for function in functions or list(stack.template.functions):
        logical_id = role_logical_id(stack, function)
        trust = stack.template.translated["Resources"][logical_id]["Properties"]
        name = f"{stack.name}-{logical_id}"[:64]
        arns[function] = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(stack.resolve(trust["AssumeRolePolicyDocument"])),
        )["Role"]["Arn"]
        for policy_name, document in role_policies(stack, function).items():
            # SAM's policies carry no Version, which AWS reads as 2008-10-17 and moto refuses;
            # they use no policy variables, so the two versions mean the same here.
            document = {"Version": "2012-10-17", **document}
            iam.put_role_policy(
                RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )
    return arns


def assume(sts: Any, role_arn: str, session_name: str) -> dict[str, str]:
    """Session credentials for a role, as environment variables."""
    credentials = sts.assume_role(
        RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=SESSION_SECONDS
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def enforce(endpoint_url: str) -> None:
    """From the moto server's next request on, every request is authenticated and authorised."""
    response = requests.post(f"{endpoint_url}/moto-api/reset-auth", data=b"0", timeout=10)
    response.raise_for_status()


# ----- In the moto server's process --------------------------------------------------


def install_resource_arns() -> None:
    """Make moto authorise DynamoDB, Secrets Manager and SES requests against the resources
    they name (AWS's resource types for those actions), as it does for SQS."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.ses.responses import EmailResponse

    for handler, resources in (
        (DynamoHandler, _dynamodb_resources),
        (SecretsManagerResponse, _secret_resources),
        (EmailResponse, _ses_resources),
    ):
        handler._authenticate_and_authorize_normal_action = _each_resource(  # type: ignore[method-assign]
            handler._authenticate_and_authorize_normal_action, resources
        )


def _each_resource(authorize: Any, resources: Any) -> Any:
    def authorize_each(self: Any, resource: str = "*") -> None:
        for action, arn in resources(self) or [(None, resource)]:
            if action is None:
                authorize(self, arn)
                continue
            self._get_action = lambda action=action: action  # what moto's check asks about
            try:
                authorize(self, arn)
            finally:
                del self._get_action

    return authorize_each


def _arn(self: Any, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{self.region}:{self.current_account}:{resource}"


def _json_body(self: Any) -> dict[str, Any]:
    if isinstance(self.body, dict):  # some handlers parse it in place
        return self.body
    try:
        return json.loads(self.body or "{}")
    except ValueError:
        return {}


def _dynamodb_resources(self: Any) -> list[tuple[str | None, str]]:
    """(action, ARN) pairs: a transaction's items each need their own action (AWS has no
    IAM action for the transaction), the rest the request's action on each table named."""
    body = _json_body(self)
    names: list[tuple[str | None, str, str | None]] = []
    if "TableName" in body:
        names.append((None, body["TableName"], body.get("IndexName")))
    names += [(None, name, None) for name in body.get("RequestItems", {})]
    for item in body.get("TransactItems", []):
        names += [
            (TRANSACT_ACTIONS[kind], operation["TableName"], None)
            for kind, operation in item.items()
        ]
    checks = set()
    for action, name, index in names:
        arn = name if name.startswith("arn:") else _arn(self, "dynamodb", f"table/{name}")
        checks.add((action, f"{arn}/index/{index}" if index else arn))
    return sorted(checks, key=str)


def _secret_resources(self: Any) -> list[tuple[None, str]]:
    secret_id = _json_body(self).get("SecretId")
    if not secret_id:
        return []
    from moto.secretsmanager.exceptions import SecretNotFoundException

    try:
        return [(None, self.backend.describe_secret(secret_id).arn)]
    except SecretNotFoundException:  # AWS evaluates the ARN the name would have
        return [(None, _arn(self, "secretsmanager", f"secret:{secret_id}"))]


def _ses_resources(self: Any) -> list[tuple[None, str]]:
    source = self.querystring.get("Source", [""])[0]
    address = parseaddr(source)[1]
    if not address:
        return []
    verified = self.backend.email_identities  # addresses and domains
    identity = address if address in verified else address.rsplit("@", 1)[-1]
    return [(None, _arn(self, "ses", f"identity/{identity}"))]
