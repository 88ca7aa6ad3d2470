"""Crash-point injection for the rows of docs/reliability.md's boundary map (issue #15).

A function is killed at a named boundary: a method it calls is wrapped so that, for the
calls a test picks, the function dies just before or just after the real call, with a
`Killed` that nothing in the product catches (it is a `BaseException`, as a timeout or an
out-of-memory kill ends a Lambda invocation). Then the test runs what AWS would run next
(a redelivery, a retried stream batch, the next scheduler tick, the carrier's or the
customer's retry), advancing a simulated clock instead of sleeping, and counts what became
of every message: final, in the documented unknown-outcome state, dead-lettered, or stuck.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

CRASH_MESSAGES = int(os.environ.get("SMSGW_CRASH_MESSAGES", "20"))
"""Messages per row (a larger run: SMSGW_CRASH_MESSAGES=200)."""
FINAL = frozenset({"sent", "delivered", "undelivered", "failed", "rejected", "cancelled"})
UNKNOWN_SUBMIT_STATES = frozenset({"unknown", "claimed"})


class Killed(BaseException):
    """The execution environment ending at a boundary. Not an Exception: nothing in the
    function may catch it, just as nothing survives a kill."""


class Boundary:
    """`owner.name` wrapped so that the function dies at it for the calls `pick` chooses.

    `pick` gets the call's arguments (for a method patched on its class, the instance
    first) and returns a key, or None to let the call through. Each key dies once, so the
    retry that follows gets through. `after=True` makes the real call first (the write is
    done and the function dies before its next step); `after=False` dies instead of it."""

    def __init__(
        self,
        monkeypatch: Any,
        owner: Any,
        name: str,
        pick: Callable[..., Hashable | None],
        *,
        after: bool,
    ) -> None:
        self.killed: list[Hashable] = []
        self._lock = threading.Lock()
        original = getattr(owner, name)

        def at_boundary(*args: Any, **kwargs: Any) -> Any:
            key = pick(*args, **kwargs)
            with self._lock:
                fire = key is not None and key not in self.killed
                if fire:
                    self.killed.append(key)
            if fire and not after:
                raise Killed(key)
            result = original(*args, **kwargs)
            if fire:
                raise Killed(key)
            return result

        monkeypatch.setattr(owner, name, at_boundary)

    @property
    def crashes(self) -> int:
        return len(self.killed)


def end_of(pool: ThreadPoolExecutor, timeout: float = 30.0) -> None:
    """Wait until the threads a killed invocation left running on its function's `pool`
    have ended, before AWS's retry runs: a killed Lambda's threads stop with it, while
    here they run on after the kill reached the handler. Letting them finish only adds
    work done once (the claims, the webhook-id), and they must not run on past the test.

    Every worker is made to wait at one barrier: tasks leave the queue in order, so once
    all the workers are at it, every task submitted before has ended."""
    workers = pool._max_workers
    barrier = threading.Barrier(workers + 1)
    waiting = [pool.submit(barrier.wait, timeout) for _ in range(workers)]
    barrier.wait(timeout)
    for future in waiting:
        future.result()


def outcome(item: dict[str, Any] | None) -> str:
    """What a stored message's state says: `final`, `unknown` (the unknown-outcome state:
    `sending` with SubmitState unknown or claimed, which only reconciliation moves), or
    `stuck` (queued, scheduled or sending with nothing documented to move it)."""
    if item is None:
        return "missing"
    if item["Status"] in FINAL:
        return "final"
    if item["Status"] == "sending" and item.get("SubmitState") in UNKNOWN_SUBMIT_STATES:
        return "unknown"
    return "stuck"


@dataclass
class Figures:
    """The figures line of one row."""

    row: str
    messages: int
    crashes: int
    final: int = 0
    unknown: int = 0
    dead_lettered: int = 0
    stuck: int = 0
    duplicates: int = 0
    note: str = ""
    kind: str = "crash points"
    """What the row injects: `crash points` (kills) or `aws faults` (failed AWS calls)."""

    @classmethod
    def of(
        cls,
        row: str,
        items: Iterable[dict[str, Any] | None],
        *,
        crashes: int,
        dead_lettered: int = 0,
        duplicates: int = 0,
        note: str = "",
        kind: str = "crash points",
    ) -> Figures:
        found = [outcome(item) for item in items]
        return cls(
            row,
            len(found),
            crashes,
            final=found.count("final"),
            unknown=found.count("unknown"),
            dead_lettered=dead_lettered,
            stuck=found.count("stuck") + found.count("missing"),
            duplicates=duplicates,
            note=note,
            kind=kind,
        )

    def line(self) -> str:
        return (
            f"{self.kind}: {self.row}: {self.messages} messages, "
            f"{'faults' if self.kind == 'aws faults' else 'crashes'} injected {self.crashes}, final {self.final} / unknown {self.unknown} / dead-lettered "
            f"{self.dead_lettered} / stuck {self.stuck}, duplicates {self.duplicates}"
            + (f"; {self.note}" if self.note else "")
        )

    def show(self) -> None:
        print(f"\n{self.line()}")


def table_items(aws_session: Any, stack: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Every item whose key starts with `prefix` (a test may scan; the product never does)."""
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    items, start = [], {}
    while True:
        page = table.scan(**start)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    return [i for i in items if i["PK"].startswith(prefix)]


def messages_by_text(aws_session: Any, stack: Any) -> dict[str, list[dict[str, Any]]]:
    """The stored messages grouped by their Text."""
    found: dict[str, list[dict[str, Any]]] = {}
    for item in table_items(aws_session, stack, "MESSAGE#"):
        if item.get("Type") == "Message":
            found.setdefault(item["Text"], []).append(item)
    return found


def drain_send_queue(invoke: Callable[[list[dict[str, Any]]], Any], aws_session, stack) -> int:
    """Hand everything visible on moto's SendQueue to the sender, ten at a time, and delete
    what it acknowledged (as the event source does); the number of jobs."""
    from tests.support import sqs_records

    sqs = aws_session.client("sqs")
    url, arn = stack.queue_url("SendQueue"), stack.queue_arn("SendQueue")
    records = sqs_records(sqs, url, arn)
    for start in range(0, len(records), 10):
        batch = records[start : start + 10]
        failed = {f["itemIdentifier"] for f in invoke(batch)["batchItemFailures"]}
        done = [r for r in batch if r["messageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)
                ],
            )
    return len(records)


def stream_until_handled(
    invoke: Callable[[list[dict[str, Any]]], Any], records: list[dict[str, Any]], batch: int
) -> int:
    """Hand a stream's records to a function as Lambda's DynamoDB event source does with
    `ReportBatchItemFailures`: in order, `batch` at a time; after a batch that reported
    failures, again from the earliest record reported (the ones before it are done, the
    ones after it are read again). The number of batches retried."""
    from smsgw.dal.stream_records import sequence_number

    position, retried = 0, 0
    while position < len(records):
        chunk = records[position : position + batch]
        failed = {f["itemIdentifier"] for f in invoke(chunk)["batchItemFailures"]}
        if not failed:
            position += len(chunk)
            continue
        position += min(i for i, r in enumerate(chunk) if sequence_number(r) in failed)
        retried += 1
        assert retried <= 10 * len(records), "a stream record that never succeeds"
    return retried


def queue_until_handled(
    invoke: Callable[[list[dict[str, Any]]], Any],
    records: list[dict[str, Any]],
    queue: Any,
    batch: int = 10,
    before_again: Callable[[], None] = lambda: None,
) -> int:
    """Hand an SQS queue's records to a function as Lambda's event source does, through a
    `QueueModel` (conftest.py): a record reported failed, or every record of an invocation
    that raised, is delivered again (after its visibility: `before_again` may move a clock
    on), until acknowledged or dead-lettered. The number of deliveries."""
    deliveries, pending = 0, records
    while pending:
        again = []
        for start in range(0, len(pending), batch):
            chunk = pending[start : start + batch]
            delivered = [queue.deliver(record) for record in chunk]
            try:
                failed = {f["itemIdentifier"] for f in invoke(delivered)["batchItemFailures"]}
            except Exception:  # the function's error: the whole batch comes back
                failed = {record["messageId"] for record in chunk}
            deliveries += len(chunk)
            again += queue.settle(chunk, failed)
        pending = again
        before_again()
    return deliveries
