"""Reliability runs: many messages through the real sender, in-process under moto.

The moto, stack, simulator and tenant fixtures are the integration suite's own; this module
adds a warm sender (one Lambda execution environment, its handler invoked many times
concurrently), a way to accept many messages as the API does, and a small model of the
SQS event source: receive counts, redelivery, and the redrive to the dead-letter queue.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from smsgw_tools.local.resources import Stack
from tests.integration.conftest import (  # noqa: F401 - fixtures reused, not copied
    admin,
    aws_session,
    simulator,
    stack,
    tenant,
)
from tests.support import LambdaContext, apply_environment, load_handler

MESSAGES = int(os.environ.get("SMSGW_RELIABILITY_MESSAGES", "1000"))
MAX_RECEIVE_COUNT = 5  # SendQueue's redrive policy (template.yaml)
FROM = "+61499009990"


def recipient(n: int) -> str:
    return f"+614880{n:05d}"


class Sender:
    """The sender function as one warm execution environment: its template environment
    applied once, its handler invoked as often (and as concurrently) as a test likes."""

    def __init__(self, deployed: Stack) -> None:
        from smsgw.observability import logger

        self._saved = dict(os.environ)
        environment = deployed.function_environment("SenderFunction")
        apply_environment(environment)
        self.module = load_handler("sender")
        self.queue_arn = deployed.queue_arn("SendQueue")
        # The log level of the function's environment (the template's default, WARNING), as
        # its cold start would set it: the logger was made at this process's first import.
        self._log_level = logger.log_level
        logger.setLevel(environment["POWERTOOLS_LOG_LEVEL"])

    def invoke(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return self.module.lambda_handler({"Records": records}, LambdaContext())

    def accept(self, property_sid: str, count: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Accept `count` messages through the API's send use case (validated, opt-out
        checked, stored, then queued), with its stores in the sender's environment.
        Returns MessageSid by Text (each Text is unique) and the SendQueue records, as the
        SQS event source hands them to the function.

        The jobs are taken as the product sends them, not through moto's SQS, whose
        receive slows down with queue depth (35 s for 1,000 messages here)."""
        from dataclasses import replace

        from smsgw import services
        from smsgw.config import settings
        from smsgw.dal.send_queue import SendQueue

        sent: list[dict[str, Any]] = []
        queue = SendQueue(_RecordingSqs(sent), settings().send_queue_url)
        send_requests = replace(services.send_requests(), queue=queue)
        prop = services.tenants().get_property(property_sid)
        account = services.tenants().get_account(prop.account_sid)
        texts = {}
        for n in range(count):
            text = f"Reliability message {n}"
            accepted = send_requests.accept(
                property_sid=property_sid,
                account_sid=prop.account_sid,
                account_sms_enabled=account.sms_enabled,
                read_body=lambda text=text, n=n: {"From": FROM, "To": recipient(n), "Text": text},
            )
            texts[text] = accepted.body["Message"]["MessageSid"]
        return texts, [_record(job["MessageBody"], self.queue_arn) for job in sent]

    def restore(self) -> None:
        from smsgw.observability import logger

        logger.setLevel(self._log_level)
        os.environ.clear()
        os.environ.update(self._saved)


@pytest.fixture
def sender(stack, simulator, tenant) -> Iterator[Sender]:  # noqa: F811 - the fixtures above
    warm = Sender(stack)
    yield warm
    warm.restore()


class _RecordingSqs:
    """Stands in for the SQS client: keeps each SendMessage call's arguments."""

    def __init__(self, sent: list[dict[str, Any]]) -> None:
        self._sent = sent

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self._sent.append(kwargs)
        return {"MessageId": str(uuid.uuid4())}


def _record(body: str, queue_arn: str) -> dict[str, Any]:
    """One SQS-event record, as Lambda's event source builds it."""
    message_id = str(uuid.uuid4())
    return {
        "messageId": message_id,
        "receiptHandle": f"{message_id}#handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


@dataclass
class QueueModel:
    """What the SQS event source does with a record, kept by the test: each delivery counts
    a receive; a record the function did not acknowledge comes back, and after
    `MAX_RECEIVE_COUNT` receives it moves to the dead-letter queue."""

    receives: Counter = field(default_factory=Counter)
    acknowledged: set[str] = field(default_factory=set)
    dead_letters: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as the function receives it this time (its receive count set)."""
        with self._lock:
            self.receives[record["messageId"]] += 1
            count = self.receives[record["messageId"]]
        return {
            **record,
            "attributes": {**record["attributes"], "ApproximateReceiveCount": str(count)},
        }

    def settle(self, records: list[dict[str, Any]], failed: set[str]) -> list[dict[str, Any]]:
        """After an invocation: acknowledge the others; return the failed records that SQS
        will deliver again (those past the receive limit go to the dead-letter queue)."""
        again = []
        with self._lock:
            for record in records:
                message_id = record["messageId"]
                if message_id not in failed:
                    self.acknowledged.add(message_id)
                elif self.receives[message_id] >= MAX_RECEIVE_COUNT:
                    self.dead_letters[message_id] = record
                else:
                    again.append(record)
        return again
