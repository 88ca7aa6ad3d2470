"""N messages through the local stack's public API until each is `sent`.

Starts the Docker-free local stack (moto server, functions in their own processes, the
carrier simulator), sends N messages over HTTP from C concurrent clients, waits until every
one is `sent`, and prints the throughput and where a message's time goes, from each
message's own event history: API (the POST, seen by the client), queue wait (`queued` to
`sending`: SQS, the poller, the sender's start), sender (`sending` to `sent`: the carrier
call and the write), and the carrier simulator's share of it. Each message asks for a
receipt webhook (to the local sink), so every function runs; at the end it prints each
function's peak resident memory per worker process (what Lambda reports as "Max Memory
Used"), which sizes the template's MemorySize.

    .venv/bin/python bench/local_e2e.py                     # 200 messages, 4 clients
    .venv/bin/python bench/local_e2e.py --messages 500 --clients 8
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

from smsgw_tools.local.runtime import WORKER_SCRIPT
from smsgw_tools.local.stack import LocalStack


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms"


def run(count: int, clients: int) -> None:
    with (
        tempfile.NamedTemporaryFile("w", suffix=".log") as log,
        LocalStack(port=0, log=log) as stack,
    ):
        stack.provision_demo()
        info = stack.info()
        url = f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"
        auth = (info["AccountSid"], info["AuthToken"])
        session = requests.Session()
        # Warm every function's worker once, as a deployed stack would be.
        session.post(
            url,
            auth=auth,
            timeout=30,
            json={"From": "+61499009990", "To": "+61488023555", "Text": "warm"},
        )

        def send(n: int) -> tuple[str, float]:
            started = time.perf_counter()
            response = session.post(
                url,
                auth=auth,
                timeout=30,
                json={
                    "From": "+61499009990",
                    "To": f"+614880{n % 100000:05d}",
                    "Text": f"m{n}",
                    "DeliveryReceiptWebhookUri": f"{info['WebhookSinkUrl']}/bench",
                },
            )
            response.raise_for_status()
            return response.json()["Message"]["MessageSid"], time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            sent = list(pool.map(send, range(count)))
        api_done = time.perf_counter()
        pending = {sid for sid, _ in sent}
        finals: dict[str, dict] = {}
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            for sid in list(pending):
                message = session.get(f"{url}/{sid}", auth=auth, timeout=30).json()["Message"]
                if message["Status"] not in ("queued", "sending"):
                    finals[sid] = message
                    pending.discard(sid)
            time.sleep(0.2)
        wall = time.perf_counter() - started
        time.sleep(2)  # the last receipt callbacks reach the notifier
        peak_rss = _peak_rss_by_function()
        submissions = session.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=30).json()
        carrier_at = {s["Body"]: _seconds(s["received_at"]) for s in submissions["messages"]}

    queue_wait, sender, to_carrier = [], [], []
    for message in finals.values():
        stamps: dict[str, float] = {}
        for event in message["Events"]:  # the first time each status was reached
            stamps.setdefault(event["Status"], _seconds(event["Timestamp"]))
        if "sending" in stamps and "sent" in stamps:
            queue_wait.append(stamps["sending"] - stamps["queued"])
            sender.append(stamps["sent"] - stamps["sending"])
            if message["Text"] in carrier_at:
                to_carrier.append(carrier_at[message["Text"]] - stamps["sending"])
    statuses = sorted({m["Status"] for m in finals.values()})
    print(
        f"{count} messages, {clients} clients: {len(finals)} final ({', '.join(statuses)}), "
        f"{len(pending)} still pending"
    )
    print(
        f"  API phase        {api_done - started:6.2f} s   {count / (api_done - started):6.1f} msg/s"
    )
    print(f"  to all final     {wall:6.2f} s   {len(finals) / wall:6.1f} msg/s end to end")
    print(f"  API POST         {_percentiles([latency for _, latency in sent])}")
    print(f"  queue wait       {_percentiles(queue_wait)}   (queued -> sending)")
    print(f"  sender           {_percentiles(sender)}   (sending -> sent)")
    print(f"   of which carrier {_percentiles(to_carrier)}   (sending -> simulator received it)")
    print("  peak RSS per worker process (MB), by function:")
    for function, sizes in sorted(peak_rss.items()):
        print(f"    {function:<10} max {max(sizes):5.0f}  ({len(sizes)} workers)")


def _peak_rss_by_function() -> dict[str, list[float]]:
    """The high-water resident set (VmHWM) of each local worker process, by the function
    whose code directory it runs in: what Lambda reports as "Max Memory Used"."""
    peaks: dict[str, list[float]] = {}
    for proc in Path("/proc").iterdir():
        try:
            if WORKER_SCRIPT.name not in (proc / "cmdline").read_text():
                continue
            function = Path(os.readlink(proc / "cwd")).name
            status = (proc / "status").read_text()
        except OSError:
            continue
        kib = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
        peaks.setdefault(function, []).append(kib / 1024)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    run(args.messages, args.clients)


if __name__ == "__main__":
    main()
