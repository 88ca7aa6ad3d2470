"""How one scheduler tick scales: N scheduled messages all due in the same minute.

Stores N messages waiting in the table (as the API stores a message due more than 15
minutes ahead), then runs the tick that releases their minute against moto in-process and
prints its wall time and the AWS calls it made, by operation (DynamoDB calls counted with
botocore event hooks against moto in-process). The SendMessageBatch calls are counted but
not sent: moto's SQS slows down with queue depth (a 10,000-job tick took 573 s there, 28 s
for 2,000), which would measure moto rather than the scheduler.

    .venv/bin/python bench/scheduler.py                  # 100,000 messages
    .venv/bin/python bench/scheduler.py --messages 10000 20000 50000
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
from moto import mock_aws

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
)

from smsgw.dal.schedule_store import ScheduleStore, waiting_keys
from smsgw.kernel.scheduling import bucket_of
from smsgw.logic.schedule_release import Scheduler
from smsgw_tools.local.resources import deploy

T0 = 1_800_000_000


def run(count: int) -> None:
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        stack = deploy(session)
        table = session.resource("dynamodb").Table(stack.physical_ids["Table"])
        due_minute = T0 + 3600
        with table.batch_writer() as batch:
            for n in range(count):
                sid = f"SM{n:032x}"
                deliver_at = due_minute + n % 60
                batch.put_item(
                    Item={
                        "PK": f"MESSAGE#{sid}",
                        "SK": "MESSAGE",
                        "Type": "Message",
                        "Status": "scheduled",
                        "DeliverAt": deliver_at,
                        **waiting_keys(sid, deliver_at),
                    }
                )
        table.put_item(
            Item={"PK": "SCHEDULER", "SK": "CURSOR", "Bucket": bucket_of(due_minute) - 1}
        )

        calls: Counter[str] = Counter()
        tick_session = boto3.session.Session(region_name="us-east-1")
        tick_session.events.register(
            "before-call",
            lambda model, **_: calls.update([f"{model.service_model.service_name}.{model.name}"]),
        )
        tick_table = tick_session.resource("dynamodb").Table(stack.physical_ids["Table"])

        def enqueue_many(jobs: list[tuple[str, int]]) -> None:
            assert 1 <= len(jobs) <= 10 and all(0 <= delay <= 900 for _, delay in jobs)
            calls.update(["sqs.SendMessageBatch (counted, not sent)"])

        with ThreadPoolExecutor(8) as pool:
            scheduler = Scheduler(
                ScheduleStore(tick_table), enqueue_many, lease_seconds=360, pool=pool
            )
            started = time.perf_counter()
            result = scheduler.tick(due_minute - 840, "bench")
            wall = time.perf_counter() - started
        assert result.released == count, result
        total = sum(calls.values())
        print(
            f"{count:>8} messages  tick {wall:7.2f} s  {count / wall:8.0f} msg/s  "
            f"{total:>6} AWS calls ({total / count:.3f} per message)"
        )
        for name, number in sorted(calls.items()):
            print(f"{'':>10}{name:<40}{number:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[100_000])
    for count in parser.parse_args().messages:
        run(count)


if __name__ == "__main__":
    main()
