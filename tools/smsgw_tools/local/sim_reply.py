"""`smsgw local sim reply --from ... --to ... --body ...`: a handset replies to a leased number.

The simulator posts the reply to the gateway's Responses endpoint in its carrier's signed
inbound-message format (`simulators/reply_sender.py`), as the carrier would.
"""

from __future__ import annotations

import argparse
import json
import sys

from smsgw_tools.local.sim_commands import SimActions, simulator_url


def register_reply(actions: SimActions) -> None:
    """Add `reply` to the `smsgw local sim` subcommands."""
    reply = actions.add_parser("reply", help="send an inbound SMS (a reply) to the gateway")
    reply.add_argument("--from", dest="sender", required=True, help="the handset, E.164")
    reply.add_argument("--to", required=True, help="the leased number it replies to, E.164")
    reply.add_argument("--body", required=True, help="the text of the reply")
    reply.set_defaults(func=reply_command)


def reply_command(args: argparse.Namespace) -> int:
    import requests

    response = requests.post(
        simulator_url(args) + "/_sim/replies",
        json={"from": args.sender, "to": args.to, "body": args.body},
        timeout=15,
    )
    print(json.dumps(response.json(), indent=2))
    answered = response.json().get("status") if response.ok else None
    if not response.ok or not isinstance(answered, int) or not 200 <= answered < 300:
        print(
            f"smsgw: the reply was not accepted ({answered or response.status_code})",
            file=sys.stderr,
        )
        return 1
    return 0
