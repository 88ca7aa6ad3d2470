"""Wall time of one sender batch against a carrier that takes L seconds to answer.

A moto server (child process) holds the template's resources, the carrier simulator
answers every submission after `--latency` seconds, and the sender's real handler runs
in-process with its template environment. Ten messages are accepted by the API's send
use case, received from SendQueue as SQS-event records, and handed to the sender as
one batch. Records are sent concurrently, so a batch should cost about one carrier round
trip: the figure is wall / L (target <= 1.3). For contrast, the same ten messages sent as
ten batches of one.

moto answers one call at a time in one process, so the same batch is then timed with AWS
answered from a recording of it (bench/aws_replay.py), each call taking `--aws-latency`
(5 ms, about DynamoDB's in-region figure) and overlapping as real calls do: that is the
product's own overhead.

    .venv/bin/python bench/sender_batch.py [--latency 0.2] [--runs 5] [--batch 10]
        [--aws-latency 0.005]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from smsgw_tools.admin.operations import Admin
from smsgw_tools.local.moto_server import DUMMY_ENVIRONMENT, MotoServer
from smsgw_tools.local.resources import Stack, deploy
from smsgw_tools.simulators.server import CarrierSimulator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script, not a test: pytest's pythonpath does not apply
from bench.aws_replay import AwsReplay  # noqa: E402
from tests.support import LambdaContext, apply_environment, load_handler  # noqa: E402

TARGET = 1.3
REQUEST = {"From": "+61499009990", "To": "+61488023555"}


def queue_messages(property_sid: str, count: int) -> None:
    """Accept `count` send requests through the API function's send use case: validated,
    opt-out checked, stored, then queued.

    The API's stores are the sender's (same table and queue, same process-wide clients),
    so this does not reset the sender's warm clients the way switching environments would.
    """
    from smsgw import services

    tenants = services.tenants()
    prop = tenants.get_property(property_sid)
    account = tenants.get_account(prop.account_sid)
    for n in range(count):
        services.send_requests().accept(
            property_sid=property_sid,
            account_sid=prop.account_sid,
            account_sms_enabled=account.sms_enabled,
            read_body=lambda n=n: {**REQUEST, "Text": f"Benchmark message {n}"},
        )


def receive_records(sqs: Any, stack: Stack, count: int) -> list[dict[str, Any]]:
    """`count` SendQueue messages as the SQS event source hands them to the function."""
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(records) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=stack.queue_url("SendQueue"),
            MaxNumberOfMessages=min(10, count - len(records)),
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", []):
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": stack.queue_arn("SendQueue"),
                    "awsRegion": stack.region,
                }
            )
    if len(records) < count:
        raise RuntimeError(f"only {len(records)} of {count} messages reached SendQueue")
    return records


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SenderBench:
    """The sender function, warm across runs, as one Lambda execution environment is."""

    def __init__(
        self, stack: Stack, endpoint_url: str, property_sid: str, moto_pid: int | None
    ) -> None:
        self._stack = stack
        self._moto_pid = moto_pid
        self.moto_cpu: list[float] = []
        self.cpu: list[float] = []
        self._property_sid = property_sid
        self._sqs = boto3.client("sqs", endpoint_url=endpoint_url)
        apply_environment(stack.function_environment("SenderFunction"))
        self._handler = load_handler("sender")

    def run(self, batch: int, batches: int = 1) -> float:
        """Queue `batch * batches` messages, then time the sender on them, `batch` a call."""
        return self.time(self.prepare(batch, batches))

    def prepare(self, batch: int, batches: int = 1) -> list[dict[str, Any]]:
        """`batches` SQS events of `batch` records, their messages accepted and queued."""
        queue_messages(self._property_sid, batch * batches)
        return [{"Records": receive_records(self._sqs, self._stack, batch)} for _ in range(batches)]

    def time(self, events: list[dict[str, Any]]) -> float:
        """Wall time of the sender handling `events`, one invocation each."""
        moto_before = cpu_seconds(self._moto_pid) if self._moto_pid else None
        cpu_before = time.process_time()
        started = time.perf_counter()
        for event in events:
            result = self._handler.lambda_handler(event, LambdaContext())
            if result != {"batchItemFailures": []}:
                raise RuntimeError(f"the sender failed records: {result}")
        wall = time.perf_counter() - started
        self.cpu.append(time.process_time() - cpu_before)
        moto_after = cpu_seconds(self._moto_pid) if self._moto_pid else None
        if moto_before is not None and moto_after is not None:
            self.moto_cpu.append(moto_after - moto_before)
        return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.2, help="carrier latency L, seconds")
    parser.add_argument("--runs", type=int, default=5, help="timed batches (median reported)")
    parser.add_argument("--batch", type=int, default=10, help="records per batch (SQS max 10)")
    parser.add_argument(
        "--aws-latency",
        type=float,
        default=0.005,
        help="in the replay mode, seconds each AWS call takes (default 5 ms)",
    )
    args = parser.parse_args()
    report = sys.stdout

    os.environ.update(DUMMY_ENVIRONMENT)
    os.environ.pop("AWS_PROFILE", None)
    started = time.perf_counter()
    # Logs and EMF metrics of the handlers go nowhere; they are still formatted.
    with (
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stdout(devnull),
        MotoServer() as moto,
        CarrierSimulator() as carrier,
    ):
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        stack = deploy(moto.url)
        boto3.client("secretsmanager", endpoint_url=moto.url).put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"],
            SecretString=json.dumps(
                {
                    "AccountSid": carrier.account_sid,
                    "AuthToken": carrier.auth_token,
                    "BaseUrl": carrier.url,
                }
            ),
        )
        admin = Admin(stack.physical_ids["Table"], endpoint_url=moto.url)
        account = admin.create_account("Bench")
        prop = admin.create_property(account["AccountSid"], "Bench shop")
        carrier.set_latency(args.latency)

        # The server's pid, to tell its CPU time (the moto process is an implementation detail).
        moto_process = getattr(moto, "_process", None)
        bench = SenderBench(stack, moto.url, prop["PropertySid"], moto_process and moto_process.pid)
        warm_up = bench.run(args.batch)
        warm_up_cpu = bench.cpu[-1]
        bench.moto_cpu.clear()
        batches = [bench.run(args.batch) for _ in range(args.runs)]
        moto_cpu = statistics.median(bench.moto_cpu) if bench.moto_cpu else None
        sequential = bench.run(1, args.batch)
        # The same batch with an instant carrier: what the batch costs besides the carrier.
        carrier.set_latency(0)
        floor = statistics.median(bench.run(args.batch) for _ in range(3))

        # AWS from a recording of one batch, each call taking --aws-latency, concurrently.
        replay = AwsReplay(args.aws_latency)
        carrier.set_latency(args.latency)
        events = bench.prepare(args.batch)
        with replay.recording():
            bench.time(events)

        def replayed() -> float:
            with replay.replaying():
                return bench.time(events)

        replay_batches = [replayed() for _ in range(args.runs)]
        calls_per_batch = replay.replayed / args.runs
        carrier.set_latency(0)
        replay_floor = statistics.median(replayed() for _ in range(3))
        submitted = len(carrier.submissions())
    total = time.perf_counter() - started

    latency = args.latency
    wall = statistics.median(batches)
    ratio = wall / latency if latency else float("inf")
    print(f"carrier latency L = {latency * 1000:.0f} ms, batch of {args.batch}", file=report)
    print(f"  warm-up batch (cold clients, secret fetch): {warm_up * 1000:6.0f} ms", file=report)
    print(
        f"  its CPU in this process (the simulator's included): {warm_up_cpu * 1000:6.0f} ms",
        file=report,
    )
    print(
        f"  batch wall, median of {args.runs}: {wall * 1000:6.0f} ms"
        f"  (min {min(batches) * 1000:.0f}, max {max(batches) * 1000:.0f})",
        file=report,
    )
    print(
        f"  wall / L = {ratio:.2f}  {'ok' if ratio <= TARGET else 'OVER TARGET'}"
        f" (target <= {TARGET})",
        file=report,
    )
    print(
        f"  sequential contrast, {args.batch} batches of 1: {sequential * 1000:6.0f} ms"
        f"  (wall / L = {sequential / latency if latency else float('inf'):.2f})",
        file=report,
    )
    print(
        f"  same batch with L = 0 (everything but the carrier): {floor * 1000:6.0f} ms",
        file=report,
    )
    if moto_cpu is not None:
        print(
            f"  moto server CPU per timed batch: {moto_cpu * 1000:6.0f} ms"
            " (one process, one GIL: its DynamoDB calls do not overlap)",
            file=report,
        )
    replay_wall = statistics.median(replay_batches)
    print(
        f"AWS answered from a recording, {args.aws_latency * 1000:.0f} ms a call, concurrently"
        f" ({calls_per_batch:.0f} calls a batch; {sum(replay.unrecorded.values())} not"
        " recorded, sent to moto)",
        file=report,
    )
    print(
        f"  batch wall, median of {args.runs}: {replay_wall * 1000:6.0f} ms"
        f"  (min {min(replay_batches) * 1000:.0f}, max {max(replay_batches) * 1000:.0f})",
        file=report,
    )
    replay_ratio = replay_wall / latency if latency else float("inf")
    print(
        f"  wall / L = {replay_ratio:.2f}  {'ok' if replay_ratio <= TARGET else 'OVER TARGET'}"
        f" (target <= {TARGET})",
        file=report,
    )
    print(
        f"  same batch with L = 0 (the product's own work and AWS's latency):"
        f" {replay_floor * 1000:6.0f} ms",
        file=report,
    )
    print(f"  {submitted} submissions in all; benchmark took {total:.1f} s", file=report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
