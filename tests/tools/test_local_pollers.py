"""The local stack's pollers idle cheaply and stop at once: an SQS poller long-polls, a
stream poller backs off on an empty stream, and stopping abandons an invocation in flight
without losing its batch (docs/local-stack.md, "Stopping")."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from smsgw_tools.local.moto_server import DUMMY_CREDENTIALS, MotoServer
from smsgw_tools.local.pollers import (
    RECEIVE_WAIT_SECONDS,
    STREAM_IDLE_POLL_SECONDS,
    STREAM_POLL_SECONDS,
    SqsPoller,
    StreamPoller,
)
from smsgw_tools.local.runtime import ABANDONED, FunctionPool, Invocation, _LogPump
from smsgw_tools.local.streams import Filters, StreamReader
from smsgw_tools.template.model import Function, QueueTrigger, StreamTrigger

SLOW_HANDLER = """
import os, pathlib, time

def handler(event, context):
    # written beside, then renamed: the test, waiting for the file, reads it whole
    started = pathlib.Path(os.environ["STARTED_FILE"])
    partial = started.with_name(started.name + ".partial")
    partial.write_text(event["Records"][0]["body"])
    partial.replace(started)
    time.sleep(60)
"""


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    """An SQS client of a moto server like the local stack's."""
    with MotoServer() as server:
        yield boto3.client(
            "sqs", region_name="us-east-1", endpoint_url=server.url, **DUMMY_CREDENTIALS
        )


def _queue(sqs: Any, name: str, visibility_seconds: int = 30) -> str:
    attributes = {"VisibilityTimeout": str(visibility_seconds)}
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def _sqs_poller(sqs: Any, url: str, invoke: Any) -> SqsPoller:
    trigger = QueueTrigger("Jobs", "Queue", "Slow", batch_size=10, report_batch_item_failures=True)
    return SqsPoller(
        trigger, url, f"arn:aws:sqs:us-east-1:123456789012:{url}", sqs, invoke, "us-east-1"
    )


def _wait_for(condition: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_idle_sqs_poller_long_polls_and_gets_a_message_as_it_arrives(sqs):
    # Given a poller waiting on an empty queue
    url = _queue(sqs, "long-poll")
    received: list[float] = []

    def invoke(function: str, event: dict[str, Any]) -> Invocation:
        received.append(time.monotonic())
        return Invocation("id", ok=True)

    poller = _sqs_poller(sqs, url, invoke)
    poller.start()
    try:
        time.sleep(1.5)  # past any short poll

        # When a message is sent
        sent = time.monotonic()
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        _wait_for(lambda: received)
    finally:
        poller.request_stop()
        poller.stop(timeout=0)

    # Then the poll that was waiting (up to 20 s, as Lambda's) returns it at once
    assert RECEIVE_WAIT_SECONDS == 20
    assert received[0] - sent < 1.0


def test_stopping_abandons_a_batch_in_flight_which_stays_on_its_queue(sqs, tmp_path):
    # Given a function that takes a minute, invoked on a message by the queue's poller
    url = _queue(sqs, "abandoned", visibility_seconds=1)
    started = tmp_path / "started"
    pool = _slow_function(tmp_path, started)
    poller = _sqs_poller(sqs, url, lambda function, event: pool.invoke(event))
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    poller.start()
    _wait_for(started.exists)

    # When the stack stops: the poller is asked to, the runtime stops under the invocation
    stopping = time.monotonic()
    poller.request_stop()
    pool.stop()
    poller.stop(timeout=5)
    stopped_in = time.monotonic() - stopping

    # Then stopping took no minute, and the message was not deleted: once its visibility
    # timeout ends it is received again, as a stack polling the same queue would redo it
    assert stopped_in < 2.0
    assert started.read_text() == "job-1"
    again = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
        ("job-1", "2")
    ]


def test_an_invocation_in_flight_when_the_runtime_stops_reports_abandoned(tmp_path):
    started = tmp_path / "started"
    pool = _slow_function(tmp_path, started)
    outcome: list[Invocation] = []
    invoking = threading.Thread(
        target=lambda: outcome.append(pool.invoke({"Records": [{"body": "x"}]}))
    )
    invoking.start()
    _wait_for(started.exists)

    pool.stop()
    invoking.join(timeout=5)

    [invocation] = outcome
    assert not invocation.ok and invocation.error["errorType"] == ABANDONED


def _slow_function(directory: Path, started: Path) -> FunctionPool:
    code = directory / "slow"
    code.mkdir()
    (code / "app.py").write_text(SLOW_HANDLER)
    function = Function("Slow", "app.handler", code, "python3.13", 90, 128, (), {})
    environment = {
        "PYTHONPATH": str(code),
        "STARTED_FILE": str(started),
        "AWS_LAMBDA_FUNCTION_NAME": "slow",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "LOCAL_LAMBDA_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:slow",
    }
    return FunctionPool(function, environment, _LogPump(io.StringIO(), threading.Lock()), 1)


class _Streams:
    """A DynamoDB Streams client over one shard, counting the calls."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        self._count("DescribeStream")
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        self._count("GetShardIterator")
        return {"ShardIterator": "0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self._count("GetRecords")
        found = self.records[int(ShardIterator) :]
        return {"Records": found, "NextShardIterator": str(int(ShardIterator) + len(found))}


def _stream_record(sequence: int) -> dict[str, Any]:
    return {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": str(sequence), "Keys": {}}}


def _stream_poller(streams: _Streams, invoke: Any, sqs: Any = None) -> StreamPoller:
    trigger = StreamTrigger(
        "Changes", "Table", "Notifier", 10, True, "TRIM_HORIZON", 0, "Failures", Filters()
    )
    reader = StreamReader(streams, "arn:stream", "us-east-1")
    return StreamPoller(trigger, reader, invoke, sqs=sqs, on_failure_url="failures")


def test_an_empty_stream_is_read_less_and_less_often_down_to_once_a_second():
    # Given a stream poller on a stream with nothing new
    streams = _Streams()
    poller = _stream_poller(streams, lambda function, event: Invocation("id", ok=True))
    waits: list[float] = []
    poller._stopping.wait = waits.append  # record the pauses instead of pausing

    # When it reads five times, then finds a record, then nothing again
    for _ in range(5):
        poller.tick()
    streams.records.append(_stream_record(1))
    poller.tick()
    poller.tick()

    # Then its pauses double up to the ceiling, and start short again after a record
    assert (STREAM_POLL_SECONDS, STREAM_IDLE_POLL_SECONDS) == (0.25, 1.0)
    assert waits == [0.25, 0.5, 1.0, 1.0, 1.0, 0.25]


def test_a_stream_reader_describes_its_stream_at_most_every_describe_seconds():
    # Given a reader that takes the shards it found as the stream's for a minute, and one
    # that describes the stream at each read (the in-process tests' default)
    trusting, every_read = _Streams(), _Streams()
    readers = [
        StreamReader(trusting, "arn:stream", "us-east-1", describe_seconds=60),
        StreamReader(every_read, "arn:stream", "us-east-1"),
    ]

    # When each reads five times
    for reader in readers:
        for _ in range(5):
            reader.read()

    # Then the first described the stream once
    assert trusting.calls == {"DescribeStream": 1, "GetShardIterator": 1, "GetRecords": 5}
    assert every_read.calls["DescribeStream"] == 5


def test_a_stream_batch_abandoned_as_the_stack_stops_is_neither_retried_nor_given_up(caplog):
    # Given a stream poller (MaximumRetryAttempts 0: a failed batch goes to OnFailure at
    # once) whose invocation the runtime abandons as the stack stops
    streams = _Streams()
    streams.records.append(_stream_record(1))
    sent: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> Invocation:
        poller.request_stop()
        return Invocation("id", ok=False, error={"errorType": ABANDONED})

    poller = _stream_poller(streams, invoke, sqs=_Sqs(sent))

    # When it reads the record
    poller.poll()

    # Then nothing goes to the OnFailure queue, no retry is counted, nothing is logged
    assert sent == [] and poller._retries == {}
    assert caplog.records == []


class _Sqs:
    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self.sent = sent

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)
