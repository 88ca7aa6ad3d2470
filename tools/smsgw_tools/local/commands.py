"""`smsgw local up`, `smsgw local demo` and `smsgw local sim ...`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smsgw_tools.local.info import DEFAULT_INFO_FILE, DEMO_LOG_FILE, LOCAL_CARRIERS, written
from smsgw_tools.local.sim_commands import register_sim
from smsgw_tools.local.sim_reply import register_reply

# requests is imported by the commands that use it: `smsgw --help` and the admin commands
# start without it.
if TYPE_CHECKING:
    import requests

DEMO_SMS = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}
DEMO_TIMEOUT_SECONDS = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `local` command group (`up`, `demo`) to the `smsgw` parser."""
    local = subparsers.add_parser("local", help="run template.yaml on this machine, no Docker")
    commands = local.add_subparsers(dest="local_command", required=True)

    up = commands.add_parser("up", help="serve the API and run the functions until Ctrl-C")
    up.add_argument("--port", type=int, default=3000, help="port of the HTTP API (default 3000)")
    up.add_argument(
        "--info-file",
        type=Path,
        default=DEFAULT_INFO_FILE,
        help=f"write the endpoints and credentials here (default {DEFAULT_INFO_FILE})",
    )
    up.add_argument(
        "--carrier",
        choices=LOCAL_CARRIERS,
        default="twilio",
        help="the deployment's Carrier, spoken by the simulator (default twilio)",
    )
    up.set_defaults(func=up_command)

    demo = commands.add_parser("demo", help="send one SMS through the local stack and show it")
    demo.add_argument("--port", type=int, default=0, help="port of the HTTP API (default: free)")
    demo.set_defaults(func=demo_command)

    register_reply(register_sim(commands))


def up_command(args: argparse.Namespace) -> int:
    """Start the stack, provision the demo tenant, print and write the info, run until
    stopped; the info file is removed when it stops, so none is left naming a dead stack."""
    from smsgw_tools.local.stack import LocalStack

    stopping = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopping.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        print("Starting the local stack ...", file=sys.stderr)
        with LocalStack(port=args.port, carrier=args.carrier) as stack:
            stack.provision_demo()
            info = stack.info()
            with written(args.info_file, info):
                _print_info(info)
                stopping.wait()
                print("\nStopping ...", file=sys.stderr)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _print_info(info: dict[str, Any]) -> None:
    print(f"API            {info['ApiUrl']}")
    print(f"AWS endpoint   {info['AwsEndpointUrl']}  (region {info['Region']})")
    if key := info.get("AwsCredentials", {}).get("aws_access_key_id"):
        secret = info["AwsCredentials"]["aws_secret_access_key"]
        print(f"AWS admin key  {key} {secret}  (IAM is enforced: sign with it)")
    print(f"Carrier sim    {info.get('SimulatorUrl', '-')} ({info.get('Carrier', '-')})")
    if sns := info.get("Sns"):
        print(f"SNS (HTTPS)    {sns['HttpsUrl']}  ({sns['Hosts']}, CA bundle {sns['CaBundle']})")
    print(f"Table          {info['TableName']}")
    for name, url in info["QueueUrls"].items():
        print(f"Queue          {name}: {url}")
    print(f"AccountSid     {info['AccountSid']}")
    print(f"AuthToken      {info['AuthToken']}")
    print(f"PropertySid    {info['PropertySid']}")
    print(
        f"\nTry:\n  curl -u {info['AccountSid']}:{info['AuthToken']} \\\n"
        "    -H 'content-type: application/json' \\\n"
        f"    -d '{json.dumps(DEMO_SMS)}' \\\n"
        f"    {info['ApiUrl']}/Properties/{info['PropertySid']}/Sms\n"
        "  .venv/bin/smsgw account list   (the admin CLI acts on this stack while it runs)\n"
        "Ctrl-C stops everything.",
        flush=True,
    )


def demo_command(args: argparse.Namespace) -> int:
    """Send one SMS through the public API and follow it until the carrier has it."""
    from smsgw_tools.local.stack import LocalStack

    DEMO_LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with DEMO_LOG_FILE.open("w") as log:
        print(f"Starting the local stack (function logs: {log.name}) ...")
        try:
            with LocalStack(port=args.port, log=log) as stack:
                stack.provision_demo()
                return _demo(stack.info(), stack.session)
        except DemoError as exc:
            print(f"demo failed: {exc}\nfunction logs: {log.name}", file=sys.stderr)
            return 1


class DemoError(Exception):
    """The demo could not complete; the message says which step failed."""


def _demo(info: dict[str, Any], session: Any) -> int:
    import requests

    api, auth = info["ApiUrl"], (info["AccountSid"], info["AuthToken"])
    url = f"{api}/Properties/{info['PropertySid']}/Sms"
    with requests.Session() as http:
        http.auth = auth
        first = {
            **DEMO_SMS,
            "ExternalId": "demo-1",
            "DeliveryReceiptWebhookUri": f"{info['WebhookSinkUrl']}/receipts",
        }
        print(f"\nPOST {url}\n{json.dumps(first, indent=2)}")
        response = http.post(url, json=first, timeout=30)
        print(f"-> {response.status_code}\n{_pretty(response)}")
        if response.status_code != 200:
            raise DemoError(f"POST answered {response.status_code}")
        message_sid = response.json()["Message"]["MessageSid"]
        message = _wait_until_sent(http, f"{url}/{message_sid}")
    print(f"\nGET {url}/{message_sid}\n{json.dumps(message, indent=2)}")
    print("\nStatus timeline:")
    for event in message.get("Events", []):
        note = ""
        if event.get("Source") == "receipt":
            applied = "" if event.get("Applied", True) else ", late: recorded only"
            note = f"  (carrier receipt {event.get('CarrierStatus')}{applied})"
        print(f"  {event.get('Timestamp')}  {event.get('Status')}{note}")
    received = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
    print(f"\nThe carrier simulator received:\n{json.dumps(received, indent=2)}")
    _show_receipt_callbacks(info, session, message_sid)
    _show_scheduled_send(info, url, auth)
    _show_reply_forwarded(info, url, auth)
    return 0


def _show_reply_forwarded(info: dict[str, Any], url: str, auth: tuple[str, str]) -> None:
    """A send from a leased number, the recipient's reply, and the reply forwarded by SMS
    and to the customer's webhook."""
    import requests

    forward_to = "+61499333222"
    body = {
        "From": "",
        "To": DEMO_SMS["To"],
        "Text": "Reply YES to confirm your booking.",
        "ForwardToSms": forward_to,
        "WebhookUri": f"{info['WebhookSinkUrl']}/replies",
    }
    with requests.Session() as http:
        http.auth = auth
        print(f"\nPOST {url}   (blank From: a leased number)\n{json.dumps(body, indent=2)}")
        response = http.post(url, json=body, timeout=30)
        if response.status_code != 200:
            raise DemoError(f"leased POST answered {response.status_code}: {response.text}")
        leased = response.json()["Message"]
        print(f"-> {response.status_code}  From={leased['From']}  Lease={leased.get('Lease')}")
        _wait_until_sent(http, f"{url}/{leased['MessageSid']}")

        reply = {"from": DEMO_SMS["To"], "to": leased["From"], "body": "YES"}
        print(f"\nThe recipient replies (simulator): {json.dumps(reply)}")
        requests.post(f"{info['SimulatorUrl']}/_sim/replies", json=reply, timeout=15)
        deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
        forwarded: list[dict[str, Any]] = []
        hooks: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not (forwarded and hooks):
            time.sleep(0.25)
            messages = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
            forwarded = [m for m in messages["messages"] if m["To"] == forward_to]
            sink = requests.get(f"{info['WebhookSinkUrl']}/_sink/requests", timeout=10).json()
            hooks = [r for r in sink["requests"] if r["path"].startswith("/replies")]
        if not (forwarded and hooks):
            raise DemoError("the reply was not forwarded by SMS and webhook in time")
        replies = http.get(f"{url}/{leased['MessageSid']}/Responses", timeout=10).json()
    print(f"GET {url}/{leased['MessageSid']}/Responses\n{json.dumps(replies, indent=2)}")
    print(
        f"Forwarded by SMS: {forwarded[0]['From']} -> {forwarded[0]['To']}: "
        f"{forwarded[0]['Body']!r}"
    )
    print(f"Forwarded to the webhook: {hooks[0]['method']} {hooks[0]['path']}")


def _show_receipt_callbacks(info: dict[str, Any], session: Any, message_sid: str) -> None:
    """The signed delivery-receipt callbacks the local webhook sink received, verified with
    the property's webhook secret as a customer would."""
    import requests

    from smsgw.kernel.webhook_signing import verify
    from smsgw_tools.admin.operations import Admin

    admin = Admin(info["TableName"], session=session, endpoint_url=info["AwsEndpointUrl"])
    secret = admin.webhook_secret(info["PropertySid"])["WebhookSecret"]
    deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
    callbacks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        received = requests.get(f"{info['WebhookSinkUrl']}/_sink/requests", timeout=10).json()
        callbacks = [r for r in received["requests"] if message_sid in (r.get("body") or "")]
        if any('"IsFinal":true' in r["body"].replace(" ", "") for r in callbacks):
            break
        time.sleep(0.25)
    else:
        raise DemoError("the delivery-receipt callback did not reach the webhook sink")
    print(f"\nThe webhook sink ({info['WebhookSinkUrl']}) received the receipt callbacks:")
    for request in callbacks:
        body = json.loads(request["body"])
        valid = verify(secret, request["headers"], request["body"], time.time())
        print(
            f"  {request['method']} {request['path']}  Status={body['Status']}  "
            f"IsFinal={body['IsFinal']}  webhook-id={request['headers'].get('webhook-id')}  "
            f"signature {'verified' if valid else 'INVALID'}"
        )
        if not valid:
            raise DemoError("a receipt callback's signature did not verify")


def _show_scheduled_send(info: dict[str, Any], url: str, auth: tuple[str, str]) -> None:
    import requests

    due = int(time.time()) + 3
    body = {**DEMO_SMS, "Text": "Scheduled: see you in 3 seconds.", "Schedule": due}
    with requests.Session() as http:
        http.auth = auth
        print(f"\nPOST {url}\n{json.dumps(body, indent=2)}")
        response = http.post(url, json=body, timeout=30)
        if response.status_code != 200:
            raise DemoError(f"scheduled POST answered {response.status_code}: {response.text}")
        scheduled = response.json()["Message"]
        print(f"-> {response.status_code}  Status={scheduled['Status']}")
        message = _wait_until_sent(http, f"{url}/{scheduled['MessageSid']}")
    sent_at = next(e["Timestamp"] for e in message["Events"] if e["Status"] == "sent")
    lag = datetime.fromisoformat(sent_at.replace("Z", "+00:00")).timestamp() - due
    print(f"  due {datetime.fromtimestamp(due, UTC).isoformat()}, sent {sent_at} ({lag:+.2f} s)")
    for event in message["Events"]:
        print(f"  {event.get('Timestamp')}  {event.get('Status')}")


def _wait_until_sent(http: requests.Session, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
    status = None
    while time.monotonic() < deadline:
        response = http.get(url, timeout=10)
        if response.status_code == 200:
            message = response.json().get("Message", response.json())
            status = message.get("Status")
            # The simulator's receipts follow the submission: wait for the final status.
            if status == "delivered":
                return message
            if status in ("failed", "rejected", "undelivered", "canceled"):
                raise DemoError(f"the message ended in status {status}")
        time.sleep(0.25)
    raise DemoError(
        f"the message was not sent within {DEMO_TIMEOUT_SECONDS:.0f}s (last status {status})"
    )


def _pretty(response: requests.Response) -> str:
    try:
        return json.dumps(response.json(), indent=2)
    except ValueError:
        return response.text
