"""`smsgw local up`, and the `smsgw local` command group (`demo`: demo.py; `sim ...`:
sim_commands.py)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from smsgw_tools.local.demo import DEMO_SMS, demo_command
from smsgw_tools.local.info import DEFAULT_INFO_FILE, LOCAL_CARRIERS, served_carriers, written
from smsgw_tools.local.sim_commands import register_sim
from smsgw_tools.local.sim_reply import register_reply

# requests is imported by the commands that use it: `smsgw --help` and the admin commands
# start without it.
if TYPE_CHECKING:
    pass


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
        help="the deployment's Carrier, its default route (default twilio)",
    )
    up.add_argument(
        "--carriers",
        type=_carrier_list,
        help="the carriers to simulate, a simulator each, comma-separated "
        "(default: --carrier, twilio and vonage; add eum for End User Messaging)",
    )
    up.set_defaults(func=up_command)

    demo = commands.add_parser("demo", help="send one SMS through the local stack and show it")
    demo.add_argument("--port", type=int, default=0, help="port of the HTTP API (default: free)")
    demo.set_defaults(func=demo_command)

    register_reply(register_sim(commands))


def _carrier_list(value: str) -> list[str]:
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    try:
        served_carriers(names[0] if names else "", names)
    except (ValueError, IndexError) as exc:
        raise argparse.ArgumentTypeError(
            f"name carriers among {', '.join(LOCAL_CARRIERS)}, comma-separated"
        ) from exc
    return names


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
                stack = running.enter_context(
                    LocalStack(port=args.port, carrier=args.carrier, carriers=args.carriers)
                )
            stack.provision_demo()
            info = stack.info()
            with written(args.info_file, info):
                _print_info(info, admin_command(args.info_file))
                logs.release()
                # Woken twice a second: Python runs a signal's handler in the main thread
                # only, and a main thread asleep without a timeout stays asleep when the
                # kernel hands the signal to another of the process's threads.
                while not stopping.wait(0.5):
                    pass
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
    simulators = info.get("Simulators") or {carrier: info.get("SimulatorUrl", "-")}
    callbacks = f"{info['CarrierCallbackUrl']}/{carrier}"
    rows = [
        ("API", info["ApiUrl"]),
        ("Carrier callbacks", f"{callbacks}/Receipts"),
        ("", f"{callbacks}/Responses"),
    ]
    if len(simulators) > 1:
        others = "|".join(name for name in simulators if name != carrier)
        rows.append(("", f"(and {info['CarrierCallbackUrl']}/{others}/…)"))
    rows.append(
        ("Webhook sink", f"{info['WebhookSinkUrl']}  (GET /_sink/requests: what it received)")
    )
    width = max(len(name) for name in simulators)
    for n, (name, url) in enumerate(simulators.items()):
        note = "  (the stack's Carrier, the default route)" if name == carrier else ""
        rows.append(("Carrier sims" if n == 0 else "", f"{name:<{width}}  {url}{note}"))
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
        *_failover_hint(carrier, list(simulators), admin),
        "Ctrl-C stops everything.",
    ]


def _failover_hint(carrier: str, simulators: list[str], admin: str) -> list[str]:
    """Two commands that make a route fail over, when the stack simulates two carriers."""
    others = [name for name in simulators if name != carrier]
    if not others:
        return []
    words = shlex.split(admin)
    program = words[: words.index("account")]
    # `--info-file` is `sim`'s own option too: there it follows `sim`.
    options = program[-2:] if "--info-file" in program else []
    base = program[: len(program) - len(options)]
    route = [*program, "route", "set", "+61", f"{carrier},{others[0]}"]
    fault = [*base, "local", "sim", *options, "fault", "5xx", "--carrier", carrier]
    return [
        f"  {shlex.join(route)}",
        f"  {shlex.join(fault)}   (then +61 messages go to {others[0]})",
    ]


def _print_info(info: dict[str, Any], admin: str) -> None:
    print("\n".join(banner(info, admin)), flush=True)
