"""The idle local stack: its CPU, the first message after an idle spell, and Ctrl-C.

Starts `smsgw local up` as a process (what `make serve` runs), the code found on
PYTHONPATH, lets it settle, then:

1. CPU while idle: the CPU time of the stack's processes (the `local up` process with its
   pollers, gateways and simulator; the moto server; the functions' workers), read from
   /proc over N windows, as a share of one core. The scheduler's tick fires once a minute,
   so one window in a minute's worth holds it: the median is the idle floor, the mean and
   the highest window include the tick.
2. Latency: one message sent after the stack has been idle for a while, against messages
   sent one after the other (a busy stack's pollers). Per message: POST to the carrier
   receiving it (the send queue's poller) and the carrier receiving it to the delivery
   receipt's webhook reaching the sink (the receipt through the webhooks function, then
   the table's stream poller and the notifier).
3. Stop: a send whose carrier call hangs (the simulator's `timeout` fault), then SIGINT
   (Ctrl-C) while the sender waits on it; the time until the process has exited, and
   whether it printed a traceback.

    .venv/bin/python bench/idle_local_stack.py                       # 6 windows of 10 s
    .venv/bin/python bench/idle_local_stack.py --windows 12 --idle 30
    # another checkout's code, in the same sitting:
    PYTHONPATH=../main/layers/common/python:../main/tools:../main .venv/bin/python bench/idle_local_stack.py

Only the standard library and requests, so it runs against any version of the stack.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

TICKS = os.sysconf("SC_CLK_TCK")
SMS = {"From": "+61499009990", "Text": "idle bench"}


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return "local up"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "ThreadedMotoServer" in command:
        return "moto server"
    if "worker.py" in command:
        return "workers"
    return "other"


def _tree_ticks(root: int) -> dict[int, tuple[str, int]]:
    """Each process of the tree under `root`: its kind and CPU ticks so far."""
    parents, ticks = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)], ticks[int(entry.name)] = stat
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return {pid: (_kind(pid, root), ticks[pid]) for pid in tree if pid in ticks}


def measure_cpu(root: int, windows: int, seconds: float) -> list[dict[str, float]]:
    """Per window, the percent of one core each kind of process used."""
    shares = []
    for _ in range(windows):
        before, started = _tree_ticks(root), time.monotonic()
        time.sleep(seconds)
        after, elapsed = _tree_ticks(root), time.monotonic() - started
        used: dict[str, float] = {}
        for pid, (kind, ticks) in after.items():
            spent = ticks - before.get(pid, (kind, 0))[1]
            used[kind] = used.get(kind, 0.0) + spent / TICKS / elapsed * 100
        used["total"] = sum(used.values())
        shares.append(used)
        print(
            "  window: "
            + "  ".join(f"{kind} {share:5.2f}%" for kind, share in sorted(used.items())),
            flush=True,
        )
    return shares


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Client:
    """The demo tenant's send URL, the simulator and the webhook sink of a running stack."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.http = requests.Session()
        self.http.auth = (info["AccountSid"], info["AuthToken"])
        self.url = f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"
        self.count = 0

    def send(self, *, wait: bool = True) -> tuple[float, float]:
        """Send one message; (POST → carrier, carrier → receipt webhook) in seconds."""
        self.count += 1
        to = f"+614880{self.count:05d}"
        body = {**SMS, "To": to, "DeliveryReceiptWebhookUri": f"{self.info['WebhookSinkUrl']}/b"}
        posted = time.time()
        response = self.http.post(self.url, json=body, timeout=30)
        response.raise_for_status()
        if not wait:
            return 0.0, 0.0
        sid = response.json()["Message"]["MessageSid"]
        deadline = time.monotonic() + 30
        carrier = webhook = None
        while time.monotonic() < deadline and webhook is None:
            time.sleep(0.02)
            if carrier is None:
                carrier = self._carrier_received(to)
            if carrier is not None:
                webhook = self._webhook_received(sid)
        if carrier is None or webhook is None:
            raise RuntimeError(f"message to {to} did not reach the carrier and the webhook")
        return carrier - posted, webhook - carrier

    def _carrier_received(self, to: str) -> float | None:
        sim = requests.get(f"{self.info['SimulatorUrl']}/_sim/messages", timeout=10).json()
        stamps = [_seconds(m["received_at"]) for m in sim["messages"] if m["To"] == to]
        return stamps[0] if stamps else None

    def _webhook_received(self, sid: str) -> float | None:
        sink = requests.get(f"{self.info['WebhookSinkUrl']}/_sink/requests", timeout=10).json()
        stamps = [
            _seconds(r["received_at"])
            for r in sink["requests"]
            if sid in r["body"] and '"IsFinal":true' in r["body"].replace(" ", "")
        ]
        return stamps[0] if stamps else None


def _start(directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any], Path]:
    info_file, log = directory / "info.json", directory / "local-up.log"
    command = [sys.executable, "-m", "smsgw_tools.admin.cli", "local", "up"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", "0", "--info-file", str(info_file)],
            cwd=directory,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while not info_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the stack did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    time.sleep(0.5)  # the file is written whole, but give the banner a moment
    return process, json.loads(info_file.read_text()), log


def _stop_during_a_hung_carrier_call(
    process: subprocess.Popen[bytes], client: Client
) -> tuple[float, bool]:
    """SIGINT while the sender waits on a carrier that does not answer; (seconds to exit,
    whether the process exited by itself)."""
    simulator = client.info["SimulatorUrl"]
    requests.post(f"{simulator}/_sim/faults", json={"mode": "timeout", "count": 1}, timeout=10)
    before = len(requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"])
    client.send(wait=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        taken = requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"]
        if len(taken) > before:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # the sender is now waiting on the carrier's answer
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return time.monotonic() - interrupted, False
    return time.monotonic() - interrupted, True


def run(windows: int, window_seconds: float, idle: float, rounds: int, busy: int) -> None:
    with tempfile.TemporaryDirectory(prefix="idle-bench-") as scratch:
        started = time.monotonic()
        process, info, log = _start(Path(scratch))
        print(f"started in {time.monotonic() - started:.1f} s (pid {process.pid})")
        try:
            client = Client(info)
            client.send()  # every function warm, every poller has seen work once
            time.sleep(5)
            print(f"CPU while idle, {windows} windows of {window_seconds:.0f} s:")
            shares = measure_cpu(process.pid, windows, window_seconds)
            after_idle = [client.send()]
            for _ in range(rounds - 1):
                time.sleep(idle)
                after_idle.append(client.send())
            busy_times = [client.send() for _ in range(busy)]
            stop_seconds, exited = _stop_during_a_hung_carrier_call(process, client)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output = log.read_text()

    totals = [share["total"] for share in shares]
    print(
        f"\nidle CPU, % of one core: median {statistics.median(totals):.2f}  "
        f"mean {statistics.mean(totals):.2f}  max {max(totals):.2f}"
    )
    for kind in sorted({kind for share in shares for kind in share} - {"total"}):
        values = [share.get(kind, 0.0) for share in shares]
        print(
            f"  {kind:<12} median {statistics.median(values):5.2f}  mean {statistics.mean(values):5.2f}"
        )

    def line(name: str, times: list[tuple[float, float]]) -> None:
        carrier = ", ".join(f"{c * 1000:.0f}" for c, _ in times)
        webhook = ", ".join(f"{w * 1000:.0f}" for _, w in times)
        print(f"  {name:<28} POST→carrier ms: {carrier:<24} carrier→webhook ms: {webhook}")

    print("latency of a message:")
    line(f"after idle ({windows * window_seconds:.0f} s, then {idle:.0f} s)", after_idle)
    line("busy (one after another)", busy_times)
    print(
        f"Ctrl-C during a hung carrier call: exited in {stop_seconds:.2f} s"
        f"{'' if exited else ' (killed after 60 s)'}, "
        f"traceback printed: {'yes' if 'Traceback' in output else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=6, help="CPU windows (default 6)")
    parser.add_argument("--window-seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=float, default=20.0, help="idle seconds between rounds")
    parser.add_argument("--rounds", type=int, default=3, help="messages sent after idle")
    parser.add_argument("--busy", type=int, default=5, help="messages sent one after another")
    args = parser.parse_args()
    run(args.windows, args.window_seconds, args.idle, args.rounds, args.busy)


if __name__ == "__main__":
    main()
