"""`smsgw local up`, `smsgw local demo` and `smsgw local sim ...`."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from smsgw_tools.local.demo_life import show_smart_encoding
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
    logs = _HeldLines(sys.stderr)
    try:
        print("Starting the local stack ...", file=sys.stderr)
        with contextlib.ExitStack() as running:
            # The functions log from their first invocation, which with eum is during
            # start-up (the SNS subscriptions' confirmations), to the stderr the runtime is
            # built with: held here, so their lines follow the banner.
            with contextlib.redirect_stderr(logs):
                stack = running.enter_context(LocalStack(port=args.port, carrier=args.carrier))
            stack.provision_demo()
            info = stack.info()
            with written(args.info_file, info):
                _print_info(info, admin_command(args.info_file))
                logs.release()
                stopping.wait()
                print("\nStopping ...", file=sys.stderr)
    finally:
        logs.release()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


class _HeldLines(io.TextIOBase):
    """A stream that holds what is written to it until `release`, then passes it on."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._held: list[str] | None = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            if self._held is None:
                self._stream.write(text)
            else:
                self._held.append(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._held is None:
                self._stream.flush()

    def release(self) -> None:
        with self._lock:
            if self._held is not None:
                self._stream.write("".join(self._held))
                self._stream.flush()
                self._held = None


def admin_command(info_file: Path) -> str:
    """An admin command that acts on this stack as printed: this `smsgw` (the one `make serve`
    runs, or this interpreter's module), and the info file when it is not the default."""
    program = (
        [sys.argv[0]]
        if Path(sys.argv[0]).name == "smsgw"
        else [sys.executable, "-m", "smsgw_tools.admin.cli"]
    )
    options = [] if info_file == DEFAULT_INFO_FILE else ["--info-file", str(info_file)]
    return shlex.join([*program, *options, "account", "create", "--name", "Acme"])


def banner(info: dict[str, Any], admin: str) -> list[str]:
    """What `smsgw local up` prints once the stack runs: where everything is, the demo
    tenant, and commands that work against it as printed."""
    carrier = info.get("Carrier", "{Carrier}")
    callbacks = f"{info['CarrierCallbackUrl']}/{carrier}"
    rows = [
        ("API", info["ApiUrl"]),
        ("Carrier callbacks", f"{callbacks}/Receipts"),
        ("", f"{callbacks}/Responses"),
        ("Webhook sink", f"{info['WebhookSinkUrl']}  (GET /_sink/requests: what it received)"),
        ("Carrier sim", f"{info.get('SimulatorUrl', '-')}  ({info.get('Carrier', '-')})"),
    ]
    if sns := info.get("Sns"):
        rows.append(
            ("SNS (HTTPS)", f"{sns['HttpsUrl']}  ({sns['Hosts']}, CA bundle {sns['CaBundle']})")
        )
    rows += [
        ("Stack", f"{info['StackName']}  (region {info['Region']})"),
        ("AWS (moto)", info["AwsEndpointUrl"]),
    ]
    if key := info.get("AwsCredentials", {}).get("aws_access_key_id"):
        secret = info["AwsCredentials"]["aws_secret_access_key"]
        rows.append(("AWS admin key", f"{key} {secret}  (IAM is enforced: sign with it)"))
    rows.append(("Table", info["TableName"]))
    rows += [("Queue", f"{name}: {url}") for name, url in info["QueueUrls"].items()]
    rows += [(name, info[name]) for name in ("AccountSid", "AuthToken", "PropertySid")]
    width = max(len(label) for label, _ in rows) + 2
    return [
        *(f"{label:<{width}}{value}" for label, value in rows),
        "",
        "Try:",
        f"  curl -u {info['AccountSid']}:{info['AuthToken']} \\",
        "    -H 'content-type: application/json' \\",
        f"    -d '{json.dumps(DEMO_SMS)}' \\",
        f"    {info['ApiUrl']}/Properties/{info['PropertySid']}/Sms",
        f"  {admin}",
        "  (the admin CLI acts on this stack while it runs)",
        "Ctrl-C stops everything.",
    ]


def _print_info(info: dict[str, Any], admin: str) -> None:
    print("\n".join(banner(info, admin)), flush=True)


def demo_command(args: argparse.Namespace) -> int:
    """Send one SMS through the public API and follow it until the carrier has it."""
    from smsgw_tools.local.stack import LocalStack

    DEMO_LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with DEMO_LOG_FILE.open("w") as log:
        print(f"Starting the local stack (function logs: {log.name}) ...")
        try:
            with LocalStack(port=args.port, log=log) as stack:
                stack.provision_demo()
                return run_demo(stack.info(), stack.session)
        except DemoError as exc:
            print(f"demo failed: {exc}\nfunction logs: {log.name}", file=sys.stderr)
            return 1


class DemoError(Exception):
    """The demo could not complete; the message says which step failed."""


def run_demo(info: dict[str, Any], session: Any) -> int:
    """The demo's steps against a running stack whose demo tenant is provisioned (`info`),
    each printed; a `DemoError` names the step that did not complete."""
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
        answer = _wait_until_sent(http, f"{url}/{message_sid}")
    print(f"\nGET {url}/{message_sid}\n-> 200\n{json.dumps(answer, indent=2)}")
    print("\nStatus timeline:")
    for line in timeline(answer["Message"]):
        print(f"  {line}")
    received = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
    print(f"\nThe carrier simulator received:\n{json.dumps(received, indent=2)}")
    _show_receipt_callbacks(info, session, message_sid)
    _show_scheduled_send(info, url, auth)
    show_smart_encoding(url, auth, DEMO_SMS)
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
        print(
            f"-> {response.status_code}  From={leased['From']}  "
            f"Lease={json.dumps(leased.get('Lease'))}"
        )
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
        replies = http.get(f"{url}/{leased['MessageSid']}/Responses", timeout=10)
    print(
        f"GET {url}/{leased['MessageSid']}/Responses\n-> {replies.status_code}\n{_pretty(replies)}"
    )
    print(
        f"Forwarded by SMS: {forwarded[0]['From']} -> {forwarded[0]['To']}: "
        f"{json.dumps(forwarded[0]['Body'])}"
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
            f"IsFinal={json.dumps(body['IsFinal'])}  "
            f"webhook-id={request['headers'].get('webhook-id')}  "
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
        message = _wait_until_sent(http, f"{url}/{scheduled['MessageSid']}")["Message"]
    sent_at = next(e["Timestamp"] for e in message["Events"] if e["Status"] == "sent")
    lag = datetime.fromisoformat(sent_at.replace("Z", "+00:00")).timestamp() - due
    print(f"  due {datetime.fromtimestamp(due, UTC).isoformat()}, sent {sent_at} ({lag:+.2f} s)")
    for line in timeline(message):
        print(f"  {line}")


def _wait_until_sent(http: requests.Session, url: str) -> dict[str, Any]:
    """The message's GET answer (`{"Message": ...}`) once it is delivered."""
    from smsgw.models.message import FINAL_STATUSES

    deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
    status = None
    while time.monotonic() < deadline:
        response = http.get(url, timeout=10)
        if response.status_code == 200:
            status = response.json()["Message"].get("Status")
            # The simulator's receipts follow the submission: wait for the final status.
            if status == "delivered":
                return response.json()
            if status in FINAL_STATUSES:
                raise DemoError(f"the message ended in status {status}")
        time.sleep(0.25)
    raise DemoError(
        f"the message was not sent within {DEMO_TIMEOUT_SECONDS:.0f}s (last status {status})"
    )


def timeline(message: dict[str, Any]) -> list[str]:
    """A message's Events as aligned lines: time, status, and what a carrier receipt did."""
    events = message.get("Events", [])
    width = max((len(event["Status"]) for event in events), default=0)
    lines = []
    for event in events:
        note = receipt_note(event) if event.get("Source") == "receipt" else ""
        lines.append(f"{event['Timestamp']}  {event['Status']:<{width}}  {note}".rstrip())
    return lines


def receipt_note(event: dict[str, Any]) -> str:
    """What a carrier receipt in a message's Events did, by its `ReceiptResult`: APPLIED moved
    the status; RECORDED only appended it, a duplicate of the status the message already had
    (Twilio's routine `sent` after the sender's own) or a late one. IGNORED and UNMATCHED
    receipts are not in a message's Events."""
    from smsgw.carriers.twilio import STATUS_MAP
    from smsgw.logic.receipts import ReceiptResult

    carrier_status = event.get("CarrierStatus")
    result = ReceiptResult.APPLIED if event.get("Applied", True) else ReceiptResult.RECORDED
    if result is ReceiptResult.APPLIED:
        return f"carrier receipt {carrier_status}"
    # The demo's stack speaks Twilio (LocalStack's default carrier).
    receipt_status = STATUS_MAP.get(str(carrier_status).lower())
    if receipt_status == event["Status"]:
        return f"carrier receipt {carrier_status}: already {receipt_status}, recorded only"
    if receipt_status:
        return f"carrier receipt {carrier_status}, late: already {event['Status']}, recorded only"
    return f"carrier receipt {carrier_status}: recorded only"


def _pretty(response: requests.Response) -> str:
    try:
        return json.dumps(response.json(), indent=2)
    except ValueError:
        return response.text
