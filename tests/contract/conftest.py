"""Every contract test runs twice: against the in-memory fakes of `tests/fakes/` and
against the real `smsgw.dal` stores on the template's resources under in-process moto.
A contract states what the logic relies on; when the two disagree, the fake is wrong."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes import (
    FakeCallbackQueue,
    FakeLeaseStore,
    FakeMessageStore,
    FakePool,
    FakeReceiptStore,
    FakeReplyStore,
    FakeScheduleStore,
    FakeSendQueue,
    FakeTenantStore,
)
from tests.fakes.retention import FakeRetentionStore
from tests.integration.conftest import aws_session, stack  # noqa: F401
from tests.support import TableStream


@dataclass
class Stores:
    kind: str
    messages: Any
    schedule: Any
    receipts: Any
    leases: Any
    pool: Any
    replies: Any
    tenants: Any
    retention: Any
    set_retention: Callable[..., None]
    """Give a property (created if need be) a retention period, or none; with
    `delete_messages=True`, one that deletes its messages."""
    send_queue: Any
    callback_queue: Any
    sent_bodies: Callable[[str], list[str]]
    """The bodies now visible on `send` or `callback`: what a consumer would receive."""
    reply_inserts: Callable[[], list[tuple[str, dict[str, Any]]]]
    """The replies stored since the last call, as the table's stream hands them over:
    (partition key, new image)."""


def _fakes() -> Stores:
    messages = FakeMessageStore()
    pool = FakePool()
    send_queue, callback_queue = FakeSendQueue(), FakeCallbackQueue()

    def sent_bodies(queue: str) -> list[str]:
        jobs = (send_queue if queue == "send" else callback_queue).jobs
        return [job.body for job in jobs if job.delay_seconds == 0]

    replies = FakeReplyStore()
    retention = FakeRetentionStore(messages)
    return Stores(
        kind="fake",
        messages=messages,
        schedule=FakeScheduleStore(messages, created_at=int(time.time())),
        receipts=FakeReceiptStore(messages),
        leases=FakeLeaseStore(pool, messages),
        pool=pool,
        replies=replies,
        tenants=FakeTenantStore(),
        retention=retention,
        set_retention=retention.set_retention,
        send_queue=send_queue,
        callback_queue=callback_queue,
        sent_bodies=sent_bodies,
        reply_inserts=replies.stream_inserts,
    )


def _real(session: Any, deployed: Any) -> Stores:
    from smsgw.dal import stream_records
    from smsgw.dal.callback_store import CallbackQueue
    from smsgw.dal.claim_store import ClaimStore
    from smsgw.dal.lease_store import LeaseStore
    from smsgw.dal.pool import PoolStore
    from smsgw.dal.receipt_store import ReceiptStore
    from smsgw.dal.reply_store import ReplyStore
    from smsgw.dal.retention_store import RetentionStore
    from smsgw.dal.schedule_store import ScheduleStore
    from smsgw.dal.send_queue import SendQueue
    from smsgw.dal.tenant_store import Property, TenantStore

    table = session.resource("dynamodb").Table(deployed.physical_ids["Table"])
    sqs = session.client("sqs")
    urls = {
        "send": deployed.queue_url("SendQueue"),
        "callback": deployed.queue_url("CallbackQueue"),
    }

    def sent_bodies(queue: str) -> list[str]:
        bodies: list[str] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=urls[queue], MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            if not got.get("Messages"):
                return bodies
            bodies += [m["Body"] for m in got["Messages"]]

    stream = TableStream(session, deployed)
    tenants = TenantStore(table)

    def set_retention(property_sid: str, days: int | None, delete_messages: bool = False) -> None:
        if tenants.get_property(property_sid) is None:
            tenants.put_property(Property(property_sid, "AC" + "1" * 32, "Shop", True))
        tenants.set_property_retention(property_sid, days, delete_messages)

    def reply_inserts() -> list[tuple[str, dict[str, Any]]]:
        changes = [stream_records.change_of(r) for r in stream.records(unfiltered=True)]
        return [
            (change.key, change.new_image)
            for change in changes
            if change.event_name == "INSERT" and change.key.startswith("LEASEREPLIES#")
        ]

    return Stores(
        kind="moto",
        messages=ClaimStore(table),
        schedule=ScheduleStore(table),
        receipts=ReceiptStore(table),
        leases=LeaseStore(table),
        pool=PoolStore(table),
        replies=ReplyStore(table),
        tenants=tenants,
        retention=RetentionStore(table),
        set_retention=set_retention,
        send_queue=SendQueue(sqs, urls["send"]),
        callback_queue=CallbackQueue(sqs, urls["callback"]),
        sent_bodies=sent_bodies,
        reply_inserts=reply_inserts,
    )


@pytest.fixture(params=["fake", "moto"])
def stores(request) -> Stores:
    if request.param == "fake":
        return _fakes()
    return _real(request.getfixturevalue("aws_session"), request.getfixturevalue("stack"))


def message_sids(bodies: list[str]) -> list[str]:
    return [json.loads(body)["MessageSid"] for body in bodies]
