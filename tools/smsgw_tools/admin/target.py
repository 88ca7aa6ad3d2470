"""Where the `smsgw` admin commands act, and the `Admin` that acts there.

With `--local`, the local stack that wrote the info file (`.local-stack/info.json`): its
endpoint, region, table and admin key. With none of `--stack`, `--table`, `--endpoint-url`,
SMSGW_TABLE or AWS_ENDPOINT_URL, the same if that file exists. Otherwise AWS (or
`--endpoint-url`) with boto3's usual region and credentials; a loopback endpoint (a moto
server) needs none: dummy ones are used. `--stack` names the table through the stack's
`TableName` output.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from smsgw_tools.admin.cli_errors import CliError
from smsgw_tools.local.info import DEFAULT_INFO_FILE, read_info
from smsgw_tools.local.info import field as info_field
from smsgw_tools.local.moto_server import DUMMY_CREDENTIALS
from smsgw_tools.local.moto_server import REGION as LOOPBACK_REGION


@dataclass
class Target:
    """Where the admin commands act: a table, through an endpoint, signed by a session."""

    table: str | None = None
    stack: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    local_info: Path | None = None  # the info file the rest came from

    def where(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint_url,
            "region": self.region,
            "table": self.table,
            "info_file": self.local_info,
        }


def resolve_target(args: argparse.Namespace, cwd: Path | None = None) -> Target:
    """The target the options name (see the module's docstring)."""
    info_file = cwd / args.info_file if cwd else args.info_file
    named = args.stack or args.table or args.endpoint_url
    if args.local and named:
        raise CliError(
            "--local takes the endpoint, stack and table from the info file: "
            "leave out --stack, --table and --endpoint-url"
        )
    implicit = not named and not os.environ.get("SMSGW_TABLE") and info_file.exists()
    implicit = implicit and not os.environ.get("AWS_ENDPOINT_URL")
    if args.local or implicit:
        info = read_info(info_file)
        return Target(
            table=info_field(info, "TableName", args.info_file),
            stack=info.get("StackName"),
            endpoint_url=info_field(info, "AwsEndpointUrl", args.info_file),
            region=info.get("Region") or LOOPBACK_REGION,
            credentials=dict(info.get("AwsCredentials") or DUMMY_CREDENTIALS),
            local_info=args.info_file,
        )
    endpoint_url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    return Target(
        table=args.table or os.environ.get("SMSGW_TABLE"),
        stack=args.stack,
        endpoint_url=endpoint_url,
        region=args.region,
    )


def _is_loopback(url: str | None) -> bool:
    host = urlparse(url or "").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _session(target: Target):
    import boto3

    credentials = target.credentials
    session = boto3.session.Session(region_name=target.region, **credentials)
    if _is_loopback(target.endpoint_url):
        # A moto server: any key and region do, unless it enforces IAM (then --local).
        if not credentials and session.get_credentials() is None:
            credentials = DUMMY_CREDENTIALS
        region = session.region_name or LOOPBACK_REGION
        session = boto3.session.Session(region_name=region, **credentials)
    target.region = session.region_name
    return session


def _client_config(target: Target):
    from botocore.config import Config

    # A local server that refuses a connection or a request refuses it again: no retries.
    attempts = 1 if _is_loopback(target.endpoint_url) else 3
    return Config(retries={"mode": "standard", "total_max_attempts": attempts})


def admin_for(args: argparse.Namespace):
    """The `Admin` of the table the options name; `args.target` is set to the target."""
    from botocore.exceptions import ClientError

    from smsgw_tools.admin.operations import Admin

    target = args.target = resolve_target(args)
    session = _session(target)
    config = _client_config(target)
    if not target.table and target.stack:
        cloudformation = session.client(
            "cloudformation", endpoint_url=target.endpoint_url, config=config
        )
        try:
            stack = cloudformation.describe_stacks(StackName=target.stack)["Stacks"][0]
        except ClientError as exc:
            # CloudFormation answers an unknown stack with a ValidationError.
            if exc.response.get("Error", {}).get("Code") != "ValidationError":
                raise
            raise CliError(
                f"no stack {target.stack} in region {target.region} at "
                f"{target.endpoint_url or 'AWS'}: check --stack and --region "
                "(the local stack: --local)"
            ) from exc
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if "TableName" not in outputs:
            raise CliError(f"stack {target.stack} has no TableName output: is it an smsgw stack?")
        target.table = outputs["TableName"]
    if not target.table:
        raise CliError(
            "no table: name it with --table, SMSGW_TABLE or --stack, or use --local "
            f"(the local stack; {DEFAULT_INFO_FILE} is written by `make serve`)"
        )
    return Admin(target.table, session=session, endpoint_url=target.endpoint_url, config=config)
