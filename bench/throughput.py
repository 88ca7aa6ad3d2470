"""A burst against a rate-limited carrier, counted at the carrier: N messages queued at once,
Twilio limited to R messages a second (`smsgw rate set twilio R`), and the simulator
refusing with a 429 whatever goes beyond R a second (a token bucket holding one second's
worth), as the carrier's own limit would.

Everything runs in-process: moto holds the template's resources (its DynamoDB made atomic
per request, as DynamoDB is), a Twilio simulator answers over HTTP, and the sender's real
handler takes the messages as SQS-event records, ten to a batch, from `--concurrency`
threads at once, each standing for one of the function's concurrent invocations (the
event source's MaximumConcurrency): its thread pool is made that many times ten. The queue
is a model of SendQueue kept here (moto's SQS receive slows down with depth): delays,
visibility, receive counts. A job the sender queues again (to wait for its turn) comes
back after its DelaySeconds, as SQS brings it back.

Printed: the submissions at the simulator per 5-second window (the lowest and highest of
every window that starts at a submission, against R; over the whole burst, and after its
first pass, when every job of the burst has been received once), the time from the burst
to the last submission against N / R, how long the first pass took, duplicates (a text submitted twice), lost (a message not final),
the simulator's 429s, how often a message went round the queue, and the sleeps.

    .venv/bin/python bench/throughput.py [--messages 2000] [--rate 20] [--concurrency 10]

With SMSGW_BENCH_TIMELINE=1 it prints the submissions in each second too.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script, not a test: pytest's pythonpath does not apply

from tests.support import TEST_AWS_ENVIRONMENT, message_item, reset_process_caches  # noqa: E402

os.environ.update(TEST_AWS_ENVIRONMENT)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from smsgw_tools.admin.operations import Admin  # noqa: E402
from smsgw_tools.local import atomic_moto  # noqa: E402
from smsgw_tools.local.resources import deploy  # noqa: E402
from smsgw_tools.simulators.server import CarrierSimulator  # noqa: E402
from tests.reliability.conftest import Sender  # noqa: E402

BATCH = 10
WINDOW = 5.0
FINAL = {"sent", "delivered", "undelivered", "failed", "rejected", "cancelled"}


class DelayQueue:
    """SendQueue as the sender and its event source see it: SendMessage with DelaySeconds,
    ChangeMessageVisibility, and receives of up to ten visible jobs."""

    def __init__(self, arn: str) -> None:
        self._arn = arn
        self._lock = threading.Condition()
        self._visible: list[tuple[float, int, str]] = []  # (visible at, order, message id)
        self._jobs: dict[str, dict[str, Any]] = {}
        self._order = itertools.count()
        self.sent_again = 0
        self.trips: Counter[str] = Counter()
        """MessageSid → the times its job was sent back to the queue."""
        self.burst: set[str] = set()
        """The burst's jobs not yet received once."""
        self.first_pass_done = 0.0
        """When the last of them was received (time.monotonic())."""

    # --- what the product calls (the SQS client) -----------------------------------------
    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent_again += 1
        self.trips[json.loads(kwargs["MessageBody"])["MessageSid"]] += 1
        return {"MessageId": self.put(kwargs["MessageBody"], kwargs.get("DelaySeconds", 0))}

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]:
        message_id = kwargs["ReceiptHandle"].split("#")[0]
        self._show(message_id, time.monotonic() + kwargs["VisibilityTimeout"])
        return {}

    # --- the event source ----------------------------------------------------------------
    def put(self, body: str, delay: float = 0) -> str:
        message_id = str(uuid.uuid4())
        with self._lock:
            self._jobs[message_id] = {"body": body, "receives": 0, "in_flight": False}
        self._show(message_id, time.monotonic() + delay)
        return message_id

    def _show(self, message_id: str, at: float) -> None:
        with self._lock:
            heapq.heappush(self._visible, (at, next(self._order), message_id))
            self._lock.notify_all()

    def receive(self, timeout: float) -> list[dict[str, Any]]:
        """Up to ten jobs visible now, as SQS-event records (waits up to `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                now = time.monotonic()
                records = []
                while self._visible and self._visible[0][0] <= now and len(records) < BATCH:
                    _, _, message_id = heapq.heappop(self._visible)
                    job = self._jobs.get(message_id)
                    if job is None:
                        continue
                    job["receives"] += 1
                    records.append(self._record(message_id, job))
                    if message_id in self.burst:
                        self.burst.discard(message_id)
                        if not self.burst:
                            self.first_pass_done = now
                if records or now >= deadline:
                    return records
                wake = self._visible[0][0] - now if self._visible else deadline - now
                self._lock.wait(min(max(wake, 0.001), deadline - now))

    def _record(self, message_id: str, job: dict[str, Any]) -> dict[str, Any]:
        # invisible until the function answers: a failed record comes back by its
        # visibility (the sender changes it), an acknowledged one is deleted
        return {
            "messageId": message_id,
            "receiptHandle": f"{message_id}#handle",
            "body": job["body"],
            "attributes": {"ApproximateReceiveCount": str(job["receives"])},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": "us-east-1",
        }

    def delete(self, message_id: str) -> None:
        with self._lock:
            self._jobs.pop(message_id, None)

    def empty(self) -> bool:
        with self._lock:
            return not self._jobs


def windows(times: list[float]) -> tuple[int, int]:
    """The fewest and most submissions in a WINDOW-second window starting at a submission,
    of the windows that end by the last submission."""
    counts = [
        bisect.bisect_left(times, start + WINDOW) - i
        for i, start in enumerate(times)
        if start + WINDOW <= times[-1]
    ]
    return (min(counts), max(counts)) if counts else (len(times), len(times))


def run(messages: int, rate: float, concurrency: int) -> None:
    reset_process_caches()
    atomic_moto.install()
    with mock_aws(), CarrierSimulator(carrier="twilio") as twilio:
        session = boto3.session.Session(region_name="us-east-1")
        stack = deploy(session, "smsgw-bench")
        session.client("secretsmanager").put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"],
            SecretString=(
                f'{{"AccountSid": "{twilio.account_sid}", "AuthToken": "{twilio.auth_token}", '
                f'"BaseUrl": "{twilio.url}"}}'
            ),
        )
        admin = Admin(stack.physical_ids["Table"], session=session)
        admin.set_rate("twilio", str(rate))
        account = admin.create_account("Throughput bench")
        prop = admin.create_property(account["AccountSid"], "Bench")["PropertySid"]
        sender = Sender(stack)
        from smsgw import send_batch, services

        queue = DelayQueue(stack.queue_arn("SendQueue"))
        real_send_queue = services.send_queue
        services.send_queue = lambda: _queue_over(real_send_queue(), queue)
        send_batch._pool = ThreadPoolExecutor(max_workers=BATCH * concurrency)
        slept: list[float] = []
        _count_sleeps(slept)
        _one_flush_at_a_time()
        try:
            sid_by_text, records = sender.accept(prop, messages)
            twilio.set_rate_limit(rate)
            started = time.monotonic()
            wall_started = time.time()
            queue.burst = {queue.put(record["body"]) for record in records}
            invocations = itertools.count()

            def invoke_while_jobs_remain() -> None:
                while not queue.empty():
                    batch = queue.receive(timeout=0.5)
                    if not batch:
                        continue
                    answer = sender.invoke(batch)
                    next(invocations)
                    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
                    for record in batch:
                        if record["messageId"] not in failed:
                            queue.delete(record["messageId"])

            workers = [
                threading.Thread(target=invoke_while_jobs_remain) for _ in range(concurrency)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.monotonic() - started
        finally:
            services.send_queue = real_send_queue
            sender.restore()

        submissions = twilio.submissions()
        times = sorted(
            datetime.fromisoformat(s["received_at"]).timestamp() - wall_started for s in submissions
        )
        bodies = Counter(s["Body"] for s in submissions)
        items = [message_item(session, stack, sid) for sid in sid_by_text.values()]
        lost = sum(1 for item in items if item["Status"] not in FINAL)
        fewest, most = windows(times)
        first_pass = queue.first_pass_done - started
        steady = [t for t in times if t >= first_pass]
        steady_fewest, steady_most = windows(steady)
        if os.environ.get("SMSGW_BENCH_TIMELINE"):
            per_second = Counter(int(t) for t in times)
            print("per second:", [per_second[n] for n in range(int(times[-1]) + 1)])
        print(
            f"{messages} messages at {rate:g}/s, {concurrency} concurrent invocations: "
            f"submitted {len(submissions)} ({len(bodies)} texts), duplicates "
            f"{sum(c - 1 for c in bodies.values())}, lost {lost}, carrier 429s "
            f"{twilio.state.throttled}; per {WINDOW:g} s window {fewest}-{most} submissions "
            f"({fewest / WINDOW:.1f}-{most / WINDOW:.1f}/s against {rate:g}), after the "
            f"first pass {steady_fewest}-{steady_most} "
            f"({steady_fewest / WINDOW:.1f}-{steady_most / WINDOW:.1f}/s); the first pass (each "
            f"job of the burst received once) took {first_pass:.1f} s; first at "
            f"{times[0]:.2f} s, last at {times[-1]:.2f} s (N/R = {messages / rate:.1f} s), all "
            f"done in {elapsed:.1f} s; {next(invocations)} invocations, {queue.sent_again} jobs "
            f"queued again ({queue.sent_again / messages:.2f} a message, at most "
            f"{max(queue.trips.values(), default=0)}; messages by trips "
            f"{dict(sorted(Counter(queue.trips[sid] for sid in sid_by_text.values()).items()))}), sleeps {len(slept)}, "
            f"longest {max(slept, default=0):.2f} s, "
            f"mean {sum(slept) / max(len(slept), 1):.2f} s"
        )


def _queue_over(real: Any, queue: DelayQueue) -> Any:
    """The product's SendQueue, talking to the model instead of moto's SQS."""
    from smsgw.dal.send_queue import SendQueue

    return SendQueue(queue, real._url)


def _one_flush_at_a_time() -> None:
    """The invocations share one process's metrics object: two flushing at once could
    serialise a set the other just cleared (Powertools raises for an empty one, and the
    worker's thread died with its batch in flight), which in Lambda, one invocation a
    process, cannot happen."""
    from smsgw import observability

    metrics = observability.metrics
    flush = metrics.flush_metrics
    lock = threading.Lock()

    def flush_alone(*args: Any, **kwargs: Any) -> None:
        with lock:
            flush(*args, **kwargs)

    metrics.flush_metrics = flush_alone


def _count_sleeps(slept: list[float]) -> None:
    """Keep every sleep the rate limits take (by default they sleep with `time.sleep`)."""
    from smsgw.logic.rate_limits import RateLimits

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    RateLimits.__init__.__kwdefaults__["sleep"] = sleep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    run(args.messages, args.rate, args.concurrency)


if __name__ == "__main__":
    main()
