"""`smsgw local sim ...`: drive the carrier simulators of a running local stack over HTTP.

The simulator's URL comes from `--url`, or from the info file `smsgw local up` writes
(`.local-stack/info.json` unless told otherwise): the simulator of `--carrier`, by default
the stack's own carrier's. Every subcommand takes `--carrier` (before or after it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from smsgw_tools.admin.cli_errors import CliError
from smsgw_tools.local.info import DEFAULT_INFO_FILE, LOCAL_CARRIERS, field, read_info

CARRIER_HELP = "the carrier whose simulator to drive (default: the stack's Carrier)"


def register_sim(commands: argparse._SubParsersAction) -> SimActions:
    """Add `sim` and its subcommands under `smsgw local`; returns the subcommand parsers so
    more can be added."""
    sim = commands.add_parser("sim", help="control the carrier simulators of a running stack")
    sim.add_argument("--url", help="simulator base URL (default: from the info file)")
    sim.add_argument("--info-file", type=Path, default=DEFAULT_INFO_FILE)
    sim.add_argument("--carrier", choices=LOCAL_CARRIERS, help=CARRIER_HELP)
    # The same option after the subcommand; unset there, it leaves the one before alone.
    each = argparse.ArgumentParser(add_help=False)
    each.add_argument(
        "--carrier", choices=LOCAL_CARRIERS, default=argparse.SUPPRESS, help=CARRIER_HELP
    )
    actions = SimActions(sim.add_subparsers(dest="sim_command", required=True), each)

    actions.add_parser(
        "messages", help="what the carrier took, and what a fault refused"
    ).set_defaults(func=_call("GET", "/_sim/messages"))
    actions.add_parser("receipts", help="the receipts the carrier sent").set_defaults(
        func=_call("GET", "/_sim/receipts")
    )
    actions.add_parser("reset", help="forget submissions; clear faults and latency").set_defaults(
        func=_call("POST", "/_sim/reset")
    )
    actions.add_parser(
        "sns", help="End User Messaging: SNS topics, subscriptions and the local CA"
    ).set_defaults(func=_call("GET", "/_sim/sns"))

    fault = actions.add_parser("fault", help="fail the next submissions")
    fault.add_argument("mode", choices=["none", "5xx", "429", "opted-out", "timeout", "drop"])
    fault.add_argument("--count", type=int, help="how many submissions (default: until cleared)")
    fault.add_argument("--to", help="only submissions to this recipient")
    fault.set_defaults(
        func=_call("POST", "/_sim/faults", lambda a: _present(mode=a.mode, count=a.count, to=a.to))
    )

    latency = actions.add_parser("latency", help="delay every answer of the carrier")
    latency.add_argument("seconds", type=float)
    latency.set_defaults(func=_call("POST", "/_sim/latency", lambda a: {"seconds": a.seconds}))

    outcome = actions.add_parser("outcome", help="how and when messages to a recipient end")
    outcome.add_argument("--to", required=True, help="the recipient, E.164")
    outcome.add_argument("--status", required=True, choices=["delivered", "undelivered", "failed"])
    outcome.add_argument("--delay", type=float, default=0.2, help="seconds before the receipt")
    outcome.add_argument("--error-code", type=int)
    outcome.set_defaults(
        func=_call(
            "POST",
            "/_sim/outcomes",
            lambda a: _present(to=a.to, status=a.status, delay=a.delay, error_code=a.error_code),
        )
    )
    return actions


class SimActions:
    """The `sim` subcommands' parsers: each made with the options every one takes."""

    def __init__(self, actions: argparse._SubParsersAction, common: argparse.ArgumentParser):
        self._actions = actions
        self._common = common

    def add_parser(self, name: str, **options: Any) -> argparse.ArgumentParser:
        return self._actions.add_parser(name, parents=[self._common], **options)


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def simulator_url(args: argparse.Namespace) -> str:
    """`--url`, or from the running stack's info file the simulator of `--carrier` (by
    default the stack's carrier's); `args.where` says which, for the line `cli.main`
    prints when it cannot be reached."""
    if args.url:
        url = args.url.rstrip("/")
        args.where = {"url": url}
        return url
    info = read_info(args.info_file)
    carrier = getattr(args, "carrier", None)
    if carrier is None:
        url = field(info, "SimulatorUrl", args.info_file)
    else:
        # A stack started before there were several has its own carrier's only.
        simulators = info.get("Simulators") or {info.get("Carrier"): info.get("SimulatorUrl")}
        if not simulators.get(carrier):
            served = ", ".join(name for name in simulators if name) or "none"
            raise CliError(
                f"the local stack has no {carrier} simulator (it runs {served}); start one "
                f"with `smsgw local up --carriers {','.join([*simulators, carrier])}`"
            )
        url = simulators[carrier]
    args.where = {"url": url, "info_file": args.info_file}
    return url


def _call(method: str, path: str, body=None):
    def run(args: argparse.Namespace) -> int:
        import requests

        response = requests.request(
            method,
            simulator_url(args) + path,
            json=body(args) if body else None,
            timeout=10,
        )
        print(json.dumps(response.json(), indent=2))
        if not response.ok:
            print(f"smsgw: the simulator answered {response.status_code}", file=sys.stderr)
            return 1
        return 0

    return run
