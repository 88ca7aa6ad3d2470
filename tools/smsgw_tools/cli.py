"""The `smsgw` command: operator administration and the local stack.

smsgw [--table NAME | --stack NAME] [--endpoint-url URL] [--json] account create --name N
smsgw ... account list | enable SID | disable SID | rotate-token SID [--keep-previous]
smsgw ... property create --account SID --name N | list --account SID | enable | disable
smsgw ... property webhook-secret show SID | rotate SID [--drop-previous]
smsgw ... pool add +61400000001 --countries AU,NZ [--carrier vonage] | list | remove +61400000001
smsgw local up | demo | ...   (see `smsgw local --help`)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from smsgw.errors import SmsGatewayError


def _admin(args: argparse.Namespace):
    import boto3

    from smsgw_tools.admin import Admin

    session = boto3.session.Session(region_name=args.region) if args.region else None
    table = args.table or os.environ.get("SMSGW_TABLE")
    if not table and args.stack:
        cloudformation = (session or boto3.session.Session()).client(
            "cloudformation", endpoint_url=args.endpoint_url
        )
        outputs = cloudformation.describe_stacks(StackName=args.stack)["Stacks"][0]["Outputs"]
        table = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "TableName")
    if not table:
        raise SystemExit("smsgw: name the table with --table, SMSGW_TABLE or --stack")
    return Admin(table, session=session, endpoint_url=args.endpoint_url)


def _show(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(result, indent=2))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()))


def _account(args: argparse.Namespace) -> int:
    admin = _admin(args)
    match args.action:
        case "create":
            result = admin.create_account(args.name, sms_enabled=not args.disabled)
        case "list":
            result = admin.list_accounts()
        case "enable" | "disable":
            result = admin.set_account_sms(args.sid, args.action == "enable")
        case "rotate-token":
            result = admin.rotate_token(args.sid, keep_previous=args.keep_previous)
    _show(args, result)
    return 0


def _property(args: argparse.Namespace) -> int:
    admin = _admin(args)
    match args.action:
        case "create":
            result = admin.create_property(args.account, args.name, sms_enabled=not args.disabled)
        case "list":
            result = admin.list_properties(args.account)
        case "enable" | "disable":
            result = admin.set_property_sms(args.sid, args.action == "enable")
        case "webhook-secret" if args.operation == "show":
            result = admin.webhook_secret(args.sid)
        case "webhook-secret":
            result = admin.rotate_webhook_secret(args.sid, drop_previous=args.drop_previous)
    _show(args, result)
    return 0


def _pool(args: argparse.Namespace) -> int:
    admin = _admin(args)
    match args.action:
        case "add":
            result = admin.add_pool_number(
                args.number, args.countries.split(","), args.carrier or None
            )
        case "list":
            result = admin.list_pool()
        case "remove":
            result = admin.remove_pool_number(args.number)
    _show(args, result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsgw", description="SMS gateway administration.")
    parser.add_argument("--table", help="DynamoDB table name (or SMSGW_TABLE)")
    parser.add_argument("--stack", help="read the table name from this CloudFormation stack")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint (e.g. a moto server)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(dest="command", required=True)

    account = commands.add_parser("account", help="accounts and their AuthTokens")
    account_actions = account.add_subparsers(dest="action", required=True)
    create = account_actions.add_parser("create", help="prints AccountSid and a one-time AuthToken")
    create.add_argument("--name", required=True)
    create.add_argument("--disabled", action="store_true", help="create with SMS disabled")
    account_actions.add_parser("list")
    for action in ("enable", "disable"):
        account_actions.add_parser(action, help=f"{action} SMS").add_argument("sid")
    rotate = account_actions.add_parser("rotate-token", help="issue a new AuthToken")
    rotate.add_argument("sid")
    rotate.add_argument(
        "--keep-previous",
        action="store_true",
        help="the previous token stays valid until the next rotation",
    )
    account.set_defaults(func=_account)

    prop = commands.add_parser("property", help="properties of an account")
    prop_actions = prop.add_subparsers(dest="action", required=True)
    create = prop_actions.add_parser("create")
    create.add_argument("--account", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--disabled", action="store_true", help="create with SMS disabled")
    prop_actions.add_parser("list").add_argument("--account", required=True)
    for action in ("enable", "disable"):
        prop_actions.add_parser(action, help=f"{action} SMS").add_argument("sid")
    secret = prop_actions.add_parser("webhook-secret", help="the receipt webhooks' signing secret")
    secret.add_argument("operation", choices=("show", "rotate"))
    secret.add_argument("sid")
    secret.add_argument(
        "--drop-previous",
        action="store_true",
        help="rotate: end the rotation now (only the newest secret keeps signing)",
    )
    prop.set_defaults(func=_property)

    pool = commands.add_parser("pool", help="the numbers leased sender IDs are taken from")
    pool_actions = pool.add_subparsers(dest="action", required=True)
    add = pool_actions.add_parser("add", help="add a number (or replace its countries)")
    add.add_argument("number", help="E.164, e.g. +61400000001")
    add.add_argument("--countries", required=True, help="where it may send, e.g. AU,NZ")
    add.add_argument(
        "--carrier",
        choices=("twilio", "vonage", "eum"),
        help="the carrier the number belongs to (default: the deployment's Carrier)",
    )
    pool_actions.add_parser("list")
    pool_actions.add_parser("remove", help="live leases run to their expiry").add_argument("number")
    pool.set_defaults(func=_pool)

    from smsgw_tools.local import cli as local_cli

    local_cli.register(commands)
    from smsgw_tools import openapi

    openapi.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SmsGatewayError as error:
        print(f"smsgw: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
