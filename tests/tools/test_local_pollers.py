"""The local stack's pollers stop at once: stopping abandons an invocation in flight
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
from smsgw_tools.local.pollers import SqsPoller, StreamPoller
from smsgw_tools.local.runtime import ABANDONED, FunctionPool, Invocation, _LogPump
from smsgw_tools.local.streams import Filters, StreamReader
from smsgw_tools.template.model import Function, QueueTrigger, StreamTrigger

SLOW_HANDLER = """
import os, pathlib, time

def handler(event, context):
    pathlib.Path(os.environ["STARTED_FILE"]).write_text(event["Records"][0]["body"])
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
