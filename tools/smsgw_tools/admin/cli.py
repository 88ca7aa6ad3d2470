"""The `smsgw` command: operator administration and the local stack.

smsgw [--local | --stack NAME | --table NAME] [--endpoint-url URL] [--region R] [--json] ...
smsgw ... account create --name N | list | enable SID | disable SID | rotate-token SID
smsgw ... property create --account SID --name N | list --account SID | enable | disable
smsgw ... property set-retention SID --days N [--delete-messages] | --keep
smsgw ... property set-smart-encoding SID on|off
smsgw ... property webhook-secret show SID | rotate SID | drop-previous SID
smsgw ... pool add +61400000001 --countries AU,NZ [--carrier vonage] | list | remove +614...
smsgw ... route set +61 twilio,vonage [--carrier-secret NAME] | list | remove +61
smsgw ... rate set twilio 20 [--sender +14155550100] | list | remove twilio [--sender …]
smsgw local up | demo | sim ...   (see `smsgw local --help`)

Where the admin commands act: `target.resolve_target`. Expected failures are one line
(`cli_errors.describe`), and so is Ctrl-C (exit status 130); a bug keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from smsgw.errors import SmsGatewayError
from smsgw_tools.admin.cli_errors import describe
from smsgw_tools.admin.target import admin_for
from smsgw_tools.local.info import DEFAULT_INFO_FILE

ROUTES_CACHE_NOTE = "takes effect within a minute (each warm sender reads the routes once a minute)"
RATES_CACHE_NOTE = "takes effect within a minute (each warm sender reads the limits once a minute)"
DEFAULT_CARRIER_SECRET_NAME = "smsgw/carrier"  # noqa: S105 - a name, the template's default
AUTHORIZER_CACHE_NOTE = (
    "takes effect within the authorizer's cache time (AuthorizerCacheSeconds, 60 s by default)"
)


def _show(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(result, indent=2))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("\n".join(text_lines(row)))


def text_lines(row: dict[str, Any]) -> list[str]:
    """A row as text: `Key=value` pairs on one line; a list is `a,b` (`none` when empty),
    and each object in a list gets a line of its own under the row, indented and named by
    the list's key. Never a Python repr."""
    pairs, nested = [], []
    for key, value in row.items():
        items = value if isinstance(value, list) else [value]
        if value == [] or not all(isinstance(item, dict) for item in items):
            pairs.append(f"{key}={_text_value(value)}")
            continue
        nested += [f"  {key}  {_pairs(item)}" for item in items]
    return ["  ".join(pairs), *nested]


def _pairs(item: dict[str, Any]) -> str:
    return "  ".join(f"{key}={_text_value(value)}" for key, value in item.items())


def _text_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _account(args: argparse.Namespace) -> int:
    admin = admin_for(args)
    match args.action:
        case "create":
            result = admin.create_account(args.name, sms_enabled=not args.disabled)
        case "list":
            result = admin.list_accounts()
        case "enable" | "disable":
            result = admin.set_account_sms(args.sid, args.action == "enable")
            print(f"smsgw: account {args.action}d; {AUTHORIZER_CACHE_NOTE}", file=sys.stderr)
        case "rotate-token":
            result = admin.rotate_token(args.sid, keep_previous=args.keep_previous)
    _show(args, result)
    return 0


def _property(args: argparse.Namespace) -> int:
    admin = admin_for(args)
    match args.action:
        case "create":
            result = admin.create_property(args.account, args.name, sms_enabled=not args.disabled)
        case "list":
            result = admin.list_properties(args.account)
        case "enable" | "disable":
            result = admin.set_property_sms(args.sid, args.action == "enable")
        case "set-retention":
            days = None if args.keep else args.days
            result = admin.set_property_retention(args.sid, days, args.delete_messages)
        case "set-smart-encoding":
            result = admin.set_property_smart_encoding(args.sid, args.setting == "on")
        case "webhook-secret" if args.operation == "show":
            result = admin.webhook_secret(args.sid)
        case "webhook-secret" if args.operation == "rotate" and args.drop_previous:
            print(
                "smsgw: `rotate --drop-previous` is deprecated and does not rotate: "
                f"use `property webhook-secret drop-previous {args.sid}`",
                file=sys.stderr,
            )
            result = admin.drop_previous_webhook_secrets(args.sid)
        case "webhook-secret" if args.operation == "rotate":
            result = admin.rotate_webhook_secret(args.sid)
        case "webhook-secret":
            result = admin.drop_previous_webhook_secrets(args.sid)
    _show(args, result)
    return 0


def _pool(args: argparse.Namespace) -> int:
    admin = admin_for(args)
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


def _route(args: argparse.Namespace) -> int:
    admin = admin_for(args)
    match args.action:
        case "set":
            result = admin.set_route(args.prefix, args.carriers.split(","), args.carrier_secret)
            print(f"smsgw: route set; {ROUTES_CACHE_NOTE}", file=sys.stderr)
        case "list":
            result = admin.list_routes()
        case "remove":
            result = admin.remove_route(args.prefix)
            print(f"smsgw: route removed; {ROUTES_CACHE_NOTE}", file=sys.stderr)
    _show(args, result)
    return 0


def _rate(args: argparse.Namespace) -> int:
    admin = admin_for(args)
    match args.action:
        case "set":
            result = admin.set_rate(args.carrier, args.rate, args.sender)
            print(f"smsgw: rate limit set; {RATES_CACHE_NOTE}", file=sys.stderr)
        case "list":
            result = admin.list_rates()
        case "remove":
            result = admin.remove_rate(args.carrier, args.sender)
            print(f"smsgw: rate limit removed; {RATES_CACHE_NOTE}", file=sys.stderr)
    _show(args, result)
    return 0


class _Parser(argparse.ArgumentParser):
    """A usage error is one line too: what is wrong, and where the help is."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _sid(prefix: str, name: str):
    def parse(value: str) -> str:
        if len(value) == 34 and value.startswith(prefix) and _is_hex(value[2:]):
            return value
        raise argparse.ArgumentTypeError(f"{value!r} is no {name} ({prefix} and 32 hex digits)")

    parse.__name__ = name
    return parse


MAX_RETENTION_DAYS = 3650


def _retention_days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise argparse.ArgumentTypeError(
            f"--days must be a whole number of days from 0 to {MAX_RETENTION_DAYS} (0: keep)"
        )
    return days


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


ACCOUNT_SID = _sid("AC", "AccountSid")
PROPERTY_SID = _sid("PR", "PropertySid")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="smsgw", description="SMS gateway administration.")
    parser.add_argument(
        "--local",
        action="store_true",
        help="act on the local stack (`make serve`): endpoint, region, table and admin key "
        "from its info file; the default when that file exists and no --stack, --table or "
        "--endpoint-url is given",
    )
    parser.add_argument(
        "--info-file",
        type=Path,
        default=DEFAULT_INFO_FILE,
        help=f"the local stack's info file (default {DEFAULT_INFO_FILE})",
    )
    parser.add_argument("--table", help="DynamoDB table name (or SMSGW_TABLE)")
    parser.add_argument("--stack", help="read the table name from this CloudFormation stack")
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="AWS endpoint (or AWS_ENDPOINT_URL); on 127.0.0.1 no credentials are needed",
    )
    parser.add_argument("--region", default=None, help="AWS region (or AWS_REGION)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(dest="command", required=True)

    account = commands.add_parser("account", help="accounts and their AuthTokens")
    account_actions = account.add_subparsers(dest="action", required=True)
    create = account_actions.add_parser("create", help="prints AccountSid and a one-time AuthToken")
    create.add_argument("--name", required=True)
    create.add_argument("--disabled", action="store_true", help="create with SMS disabled")
    account_actions.add_parser("list", help="every account (no tokens)")
    account_actions.add_parser("enable", help="enable SMS").add_argument("sid", type=ACCOUNT_SID)
    account_actions.add_parser(
        "disable", help=f"disable SMS; {AUTHORIZER_CACHE_NOTE}"
    ).add_argument("sid", type=ACCOUNT_SID)
    rotate = account_actions.add_parser("rotate-token", help="issue a new AuthToken")
    rotate.add_argument("sid", type=ACCOUNT_SID)
    rotate.add_argument(
        "--keep-previous",
        action="store_true",
        help="the previous token stays valid until the next rotation",
    )
    account.set_defaults(func=_account)

    prop = commands.add_parser("property", help="properties of an account")
    prop_actions = prop.add_subparsers(dest="action", required=True)
    create = prop_actions.add_parser("create", help="a new property of an account")
    create.add_argument("--account", required=True, type=ACCOUNT_SID)
    create.add_argument("--name", required=True)
    create.add_argument("--disabled", action="store_true", help="create with SMS disabled")
    prop_actions.add_parser("list", help="an account's properties").add_argument(
        "--account", required=True, type=ACCOUNT_SID
    )
    for action in ("enable", "disable"):
        prop_actions.add_parser(action, help=f"{action} SMS").add_argument("sid", type=PROPERTY_SID)
    retention = prop_actions.add_parser(
        "set-retention", help="how long its messages' and replies' text is kept"
    )
    retention.add_argument("sid", type=PROPERTY_SID)
    period = retention.add_mutually_exclusive_group(required=True)
    period.add_argument(
        "--days", type=_retention_days, help=f"1 to {MAX_RETENTION_DAYS}; 0 keeps it for good"
    )
    period.add_argument("--keep", action="store_true", help="keep it for good (the default)")
    retention.add_argument(
        "--delete-messages",
        action="store_true",
        help="after the period, delete the messages themselves, with their replies and "
        "status history (default: only their text is removed)",
    )
    smart = prop_actions.add_parser(
        "set-smart-encoding",
        help="SmartEncoding for its send requests that do not say (off by default)",
    )
    smart.add_argument("sid", type=PROPERTY_SID)
    smart.add_argument(
        "setting",
        choices=("on", "off"),
        help="on: replace GSM-7 look-alikes unless a request says SmartEncoding: false",
    )
    secret = prop_actions.add_parser("webhook-secret", help="the receipt webhooks' signing secret")
    operations = secret.add_subparsers(dest="operation", required=True)
    operations.add_parser("show", help="the secrets that sign now").add_argument(
        "sid", type=PROPERTY_SID
    )
    rotate = operations.add_parser(
        "rotate", help="a new secret; the previous one still signs for 24 h"
    )
    rotate.add_argument("sid", type=PROPERTY_SID)
    # Deprecated: it dropped the previous secret without rotating (now `drop-previous`).
    rotate.add_argument("--drop-previous", action="store_true", help=argparse.SUPPRESS)
    operations.add_parser(
        "drop-previous", help="end a rotation now: only the newest secret signs"
    ).add_argument("sid", type=PROPERTY_SID)
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
    pool_actions.add_parser("list", help="the pool's numbers and their countries")
    pool_actions.add_parser("remove", help="live leases run to their expiry").add_argument("number")
    pool.set_defaults(func=_pool)

    route = commands.add_parser(
        "route", help="which carriers send to a destination prefix, first choice first"
    )
    route_actions = route.add_subparsers(dest="action", required=True)
    set_route = route_actions.add_parser(
        "set", help="set (or replace) a prefix's carriers, e.g. `route set +61 twilio,vonage`"
    )
    set_route.add_argument("prefix", help="+ and a calling code or longer (+61, +4477), or default")
    set_route.add_argument("carriers", help="carrier names in order, e.g. twilio,vonage")
    set_route.add_argument(
        "--carrier-secret",
        default=os.environ.get("SMSGW_CARRIER_SECRET") or DEFAULT_CARRIER_SECRET_NAME,
        help="the stack's CarrierSecretName, whose credentials the carriers must have "
        f"(or SMSGW_CARRIER_SECRET; default {DEFAULT_CARRIER_SECRET_NAME})",
    )
    route_actions.add_parser("list", help="every route (none: the deployment's Carrier sends)")
    route_actions.add_parser("remove", help="remove a prefix's route").add_argument("prefix")
    route.set_defaults(func=_route)

    rate = commands.add_parser(
        "rate", help="messages a second a carrier (or one sender number) may be sent"
    )
    rate_actions = rate.add_subparsers(dest="action", required=True)
    set_rate = rate_actions.add_parser(
        "set", help="set (or change) a limit, e.g. `rate set twilio 20`"
    )
    set_rate.add_argument("carrier", help="twilio, vonage or eum")
    set_rate.add_argument("rate", help="messages a second, e.g. 20 or 0.5")
    set_rate.add_argument("--sender", help="limit one sender number (E.164) or sender ID only")
    rate_actions.add_parser("list", help="every limit (none: no limit)")
    remove_rate = rate_actions.add_parser("remove", help="remove a limit")
    remove_rate.add_argument("carrier", help="twilio, vonage or eum")
    remove_rate.add_argument("--sender", help="the sender number's limit, not the carrier's")
    rate.set_defaults(func=_rate)

    from smsgw_tools.local import commands as local_commands

    local_commands.register(commands)
    from smsgw_tools.openapi import command as openapi_command

    openapi_command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "delete_messages", False) and not args.days:
        parser.error("--delete-messages needs a retention period: --days N, 1 or more")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        # Ctrl-C is the operator's own doing: one line, and the status a shell gives an
        # interrupted command (128 + SIGINT).
        print("smsgw: interrupted", file=sys.stderr)
        return 130
    except SmsGatewayError as error:
        print(f"smsgw: {error.message}", file=sys.stderr)
        return 1
    except Exception as error:
        # Expected failures (no region, no credentials, an unknown stack or table, an
        # unreachable endpoint, throttling, a refusal) are one line; a bug keeps its traceback.
        target = getattr(args, "target", None)
        where = target.where() if target else getattr(args, "where", {})
        line = describe(error, where)
        if line is None:
            raise
        print(f"smsgw: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
