"""Load on the local stack's public API: C concurrent clients, N requests or T seconds.

Starts the Docker-free local stack on loopback (moto server, the functions in their own
worker processes, the carrier simulator), then C clients send requests as fast as the API
answers them until N requests have been made or T seconds have passed, whichever comes
first; it then stops the stack by itself. By default every request is the seed's send
call (`POST .../Sms`); `--reads 0.2` makes a fifth of them `GET` a message sent earlier.
It prints the throughput, the API latency (p50, p90, p99, max, as seen by the client) and
the answers by status (a client-side error is counted by its exception name).

    .venv/bin/python bench/load.py                                # 4 clients, 400 requests
    .venv/bin/python bench/load.py --clients 8 --seconds 30 --requests 100000 --reads 0.2
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from smsgw_tools.local.stack import LocalStack

MAX_CLIENTS = 64
MAX_SECONDS = 600


class Load:
    """The shared budget and the results of every client."""

    def __init__(self, requests_limit: int, seconds: float) -> None:
        self._left = requests_limit
        self._deadline = time.monotonic() + seconds
        self._lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {"POST": [], "GET": []}
        self.statuses: Counter = Counter()
        self.sids: list[str] = []

    def take(self) -> bool:
        """One more request, if the budget allows it."""
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self._deadline:
                return False
            self._left -= 1
            return True

    def recent_sid(self, rng: random.Random) -> str | None:
        """A message sent recently (by any client), to read back."""
        with self._lock:
            recent = self.sids[-1000:]
            return rng.choice(recent) if recent else None

    def record(self, method: str, status: str, seconds: float, sid: str | None) -> None:
        with self._lock:
            self.latencies[method].append(seconds)
            self.statuses[f"{method} {status}"] += 1
            if sid:
                self.sids.append(sid)


def client(load: Load, url: str, auth: tuple[str, str], reads: float, seed: int) -> None:
    session = requests.Session()
    rng = random.Random(seed)
    n = 0
    while load.take():
        n += 1
        known = load.recent_sid(rng)
        method = "GET" if known and rng.random() < reads else "POST"
        started = time.perf_counter()
        sid = None
        try:
            if method == "POST":
                response = session.post(
                    url,
                    auth=auth,
                    timeout=30,
                    json={
                        "From": "+61499009990",
                        "To": f"+614880{rng.randrange(10**5):05d}",
                        "Text": f"Load {seed}-{n}",
                    },
                )
                if response.status_code == 200:
                    sid = response.json()["Message"]["MessageSid"]
            else:
                response = session.get(f"{url}/{known}", auth=auth, timeout=30)
            status = str(response.status_code)
        except requests.RequestException as exc:
            status = type(exc).__name__
        load.record(method, status, time.perf_counter() - started, sid)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def report(load: Load, wall: float, clients: int) -> None:
    total = sum(load.statuses.values())
    ok = sum(n for key, n in load.statuses.items() if key.endswith(" 200"))
    print(f"{total} requests from {clients} clients in {wall:.1f} s")
    print(f"  throughput        {total / wall:7.1f} req/s   ({ok / wall:.1f} answered 200 /s)")
    for method, values in load.latencies.items():
        if not values:
            continue
        print(
            f"  {method:<5} latency    p50 {statistics.median(values) * 1000:7.1f} ms"
            f"   p90 {percentile(values, 0.90) * 1000:7.1f} ms"
            f"   p99 {percentile(values, 0.99) * 1000:7.1f} ms"
            f"   max {max(values) * 1000:7.1f} ms   (n={len(values)})"
        )
    print("  answers           " + ", ".join(f"{k}: {n}" for k, n in sorted(load.statuses.items())))
    errors = total - ok
    print(f"  errors            {errors} ({errors / total:.1%})" if total else "  no requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help=f"at most {MAX_CLIENTS}")
    parser.add_argument("--requests", type=int, default=400, help="stop after N requests")
    parser.add_argument("--seconds", type=float, default=120, help=f"or T s (<= {MAX_SECONDS})")
    parser.add_argument("--reads", type=float, default=0.0, help="share of GET requests")
    args = parser.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))

    with (
        tempfile.NamedTemporaryFile("w", suffix=".log") as log,
        LocalStack(port=0, log=log) as stack,  # binds 127.0.0.1 only
    ):
        stack.provision_demo()
        info = stack.info()
        url = f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"
        auth = (info["AccountSid"], info["AuthToken"])
        # Warm every worker once, as a deployed stack's functions would be.
        for _ in range(4):
            requests.post(
                url,
                auth=auth,
                timeout=30,
                json={"From": "+61499009990", "To": "+61488023555", "Text": "warm"},
            )
        load = Load(args.requests, seconds)
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            for future in [
                pool.submit(client, load, url, auth, args.reads, seed) for seed in range(clients)
            ]:
                future.result()
        wall = time.perf_counter() - started
    report(load, wall, clients)


if __name__ == "__main__":
    main()
