"""The triggers that are not HTTP: SQS and DynamoDB stream event source mappings, schedules.

An SQS poller does what Lambda's event source mapping does: receive up to BatchSize
messages, invoke the function with an `aws:sqs` event, then delete what succeeded — all
records on success, none on a function error, and with ReportBatchItemFailures all but
the listed `batchItemFailures`. Failed messages come back after the queue's visibility
timeout; the queue's own redrive policy moves them to the dead-letter queue.

A stream poller reads a table's stream from TRIM_HORIZON shard by shard, applies the
mapping's FilterCriteria, invokes the function with `aws:dynamodb` records (at most
BatchSize), and on a function error or a reported batch item failure reads the shard again
from the failed record (the earliest reported SequenceNumber). After MaximumRetryAttempts
retries of one batch it sends the batch's description to the OnFailure queue and moves on,
as Lambda does.

One poller thread per mapping, so a function's batches run one at a time (Lambda would
scale out pollers; the order of work is the same).

Idle, they cost little: an SQS poller long-polls (`WaitTimeSeconds` 20, as Lambda's do;
moto's server answers as soon as a message arrives), and a stream poller reads four times
a second while it finds records, backing off to once a second when it finds none.

Stopping: a poller asked to stop starts no invocation. A batch whose invocation
succeeded is deleted as usual; one that failed meanwhile (the runtime abandons the
invocations in flight) is left as it is: its SQS messages stay on their queue, in flight,
and come back after their visibility timeout; a stream batch is neither retried nor given
up. A receive that is waiting is not waited for: the loop's thread ends when it returns.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from smsgw_tools.local.gateway import Invoke
from smsgw_tools.local.streams import StreamReader
from smsgw_tools.template.model import QueueTrigger, Schedule, StreamTrigger

logger = logging.getLogger(__name__)
RECEIVE_WAIT_SECONDS = 20
"""Lambda's SQS pollers long-poll for the longest wait SQS allows."""
STREAM_POLL_SECONDS = 0.25
"""Lambda polls a DynamoDB stream's shards four times a second."""
STREAM_IDLE_POLL_SECONDS = 1.0
"""The longest wait between two reads of a stream that had nothing new: the backoff's
ceiling, so the first record after an idle spell waits at most this long."""
STREAM_DESCRIBE_SECONDS = 10.0
"""How often a stream poller describes its stream to find new shards (a shard that ends
has it described at once): Lambda lists shards apart from reading them."""
_ERROR_PAUSE_SECONDS = 1.0


class _Loop:
    """A background thread that runs `tick` until stopped."""

    name = "poller"

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling in a background thread."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end after its current step."""
        self._stopping.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling and wait for the thread (at most `timeout` seconds: a daemon
        thread still in a long poll ends when the poll returns)."""
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    @property
    def stopping(self) -> bool:
        """Whether the loop was asked to stop."""
        return self._stopping.is_set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                if self._stopping.is_set():
                    return  # the stack is going away under it (moto stopped): not a fault
                logger.exception("%s failed; retrying", self.name)
                self._stopping.wait(_ERROR_PAUSE_SECONDS)

    def tick(self) -> None:
        raise NotImplementedError


class SqsPoller(_Loop):
    """Lambda's SQS event source mapping for one queue and function."""

    def __init__(
        self,
        trigger: QueueTrigger,
        queue_url: str,
        queue_arn: str,
        sqs: Any,
        invoke: Invoke,
        region: str,
    ):
        super().__init__()
        self.name = f"sqs-{trigger.logical_id}"
        self.trigger = trigger
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._sqs = sqs
        self._invoke = invoke
        self._region = region

    def tick(self) -> None:
        """Receive one batch and hand it to the function."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self.trigger.batch_size, 10),
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        # Received as the stack stops: left in flight, back after the visibility timeout.
        if messages and not self.stopping:
            self.process(messages)

    def process(self, messages: list[dict[str, Any]]) -> None:
        """Invoke the function on a received batch and delete what it processed."""
        records = [self._record(message) for message in messages]
        invocation = self._invoke(self.trigger.function, {"Records": records})
        if not invocation.ok:
            if not self.stopping:  # abandoned by the runtime as the stack stops
                logger.warning(
                    "%s: batch of %d failed: %s", self.name, len(records), invocation.error
                )
            return
        done = self._succeeded(records, invocation.result)
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(done)
                ],
            )

    def _succeeded(self, records: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
        if not self.trigger.report_batch_item_failures or not result:
            return records
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return records
        ids = {record["messageId"] for record in records}
        failed = {
            failure.get("itemIdentifier") for failure in failures if isinstance(failure, dict)
        }
        if len(failed) != len(failures) or not failed <= ids:
            # Lambda treats an invalid response as the whole batch failing.
            logger.warning("%s: invalid batchItemFailures %r", self.name, failures)
            return []
        return [record for record in records if record["messageId"] not in failed]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: _message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    def encoded(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    attribute: dict[str, Any] = {
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": [encoded(item) for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = encoded(value["BinaryValue"])
    return attribute


class StreamPoller(_Loop):
    """Lambda's DynamoDB stream event source mapping for one table and function."""

    def __init__(
        self,
        trigger: StreamTrigger,
        reader: StreamReader,
        invoke: Invoke,
        *,
        sqs: Any = None,
        on_failure_url: str | None = None,
    ):
        super().__init__()
        if trigger.starting_position != "TRIM_HORIZON":
            raise ValueError(
                f"{trigger.logical_id}: only StartingPosition TRIM_HORIZON runs locally"
            )
        self.name = f"stream-{trigger.logical_id}"
        self.trigger = trigger
        self.reader = reader
        self._invoke = invoke
        self._sqs = sqs
        self._on_failure_url = on_failure_url
        self._retries: dict[tuple[str, str], int] = {}
        """(shard, first sequence number of a failed batch) → retries so far."""
        self._wait = STREAM_POLL_SECONDS

    def tick(self) -> None:
        """Read what each shard has and hand it over batch by batch; after a read that
        found nothing, wait, twice as long each time up to STREAM_IDLE_POLL_SECONDS."""
        if self.poll():
            self._wait = STREAM_POLL_SECONDS
        else:
            self._stopping.wait(self._wait)
            self._wait = min(self._wait * 2, STREAM_IDLE_POLL_SECONDS)

    def poll(self) -> int:
        """One pass over the shards; the number of records read."""
        read = self.reader.read(limit=1000)
        for shard_id, records in read.items():
            self.process(shard_id, records)
        return sum(len(records) for records in read.values())

    def process(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        """Hand a shard's records to the function in batches; stop at the first failure
        (the shard is read again from the failed record)."""
        passed = [record for record in records if self.trigger.filters.matches(record)]
        size = max(1, self.trigger.batch_size)
        for start in range(0, len(passed), size):
            batch = passed[start : start + size]
            failed_at = self._invoke_batch(batch)
            if failed_at is None:
                continue
            if self.stopping:
                return  # abandoned as the stack stops: neither a retry nor a give-up
            if self._give_up(shard_id, batch, failed_at):
                # Past the failed batch: read on after its last record.
                self.reader.rewind_after(shard_id, _sequence(batch[-1]))
            else:
                self.reader.rewind(shard_id, failed_at)
                self._stopping.wait(_ERROR_PAUSE_SECONDS)
            return

    def _invoke_batch(self, batch: list[dict[str, Any]]) -> str | None:
        """None when the batch succeeded, else the sequence number to retry from."""
        invocation = self._invoke(self.trigger.function, {"Records": batch})
        if not invocation.ok:
            if not self.stopping:  # abandoned by the runtime as the stack stops
                logger.warning(
                    "%s: batch of %d failed: %s", self.name, len(batch), invocation.error
                )
            return _sequence(batch[0])
        result = invocation.result
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not self.trigger.report_batch_item_failures or not failures:
            return None
        sequences = [_sequence(record) for record in batch]
        failed = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
        if not all(item in sequences for item in failed):
            # Lambda treats an invalid response as the whole batch failing.
            logger.warning("%s: invalid batchItemFailures %r", self.name, failures)
            return sequences[0]
        return min(failed, key=sequences.index)

    def _give_up(self, shard_id: str, batch: list[dict[str, Any]], failed_at: str) -> bool:
        """Count a retry of the batch from `failed_at`; True once MaximumRetryAttempts is
        spent (the batch then goes to the OnFailure destination)."""
        key = (shard_id, failed_at)
        self._retries[key] = self._retries.get(key, 0) + 1
        limit = self.trigger.maximum_retry_attempts
        if limit < 0 or self._retries[key] <= limit:
            return False
        del self._retries[key]
        logger.warning("%s: batch from %s failed every retry", self.name, failed_at)
        if self._sqs is not None and self._on_failure_url:
            self._sqs.send_message(
                QueueUrl=self._on_failure_url,
                MessageBody=json.dumps(
                    {
                        "requestContext": {
                            "condition": "RetryAttemptsExhausted",
                            "approximateInvokeCount": limit + 1,
                        },
                        "DDBStreamBatchInfo": {
                            "shardId": shard_id,
                            "startSequenceNumber": failed_at,
                            "endSequenceNumber": _sequence(batch[-1]),
                            "batchSize": len(batch),
                            "streamArn": self.reader.stream_arn,
                        },
                    }
                ),
            )
        return True


def _sequence(record: dict[str, Any]) -> str:
    return record["dynamodb"]["SequenceNumber"]


class SchedulePoller(_Loop):
    """Fires a `rate(...)` schedule: the first time one period after start, like EventBridge."""

    def __init__(
        self, schedule: Schedule, invoke: Invoke, *, region: str, account_id: str, resource_arn: str
    ):
        super().__init__()
        period = schedule.rate_seconds
        if period is None:
            raise ValueError(f"{schedule.logical_id}: only rate(...) schedules run locally")
        self.name = f"schedule-{schedule.logical_id}"
        self.schedule = schedule
        self.period = period
        self._invoke = invoke
        self._region = region
        self._account_id = account_id
        self._resource_arn = resource_arn
        self._next = time.monotonic() + period

    def tick(self) -> None:
        """Wait for the next due time, then fire."""
        if self._stopping.wait(max(0.0, self._next - time.monotonic())):
            return
        self._next += self.period
        self.fire()

    def fire(self) -> None:
        """Invoke the function once with the scheduled event; a failure is logged, not retried."""
        invocation = self._invoke(self.schedule.function, self.event())
        if not invocation.ok and not self.stopping:
            logger.warning("%s: invocation failed: %s", self.name, invocation.error)

    def event(self) -> Any:
        """The event the target receives: the configured Input, else EventBridge's scheduled event."""
        if self.schedule.input is not None:
            return json.loads(self.schedule.input)
        if self.schedule.kind == "scheduler":
            return {}
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [self._resource_arn],
            "detail": {},
        }
