"""A lease changes only together with the message it belongs to, under moto: a leased
send whose message write fails answers 500 and leaves the lease as it was, and however
parallel sends from one property interleave, the lease's latest message is a stored one."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from smsgw.dal.lease_store import LeaseStore
from smsgw.dal.message_store import MessageStore
from smsgw.dal.pool import PoolStore
from smsgw.dal.send_queue import SendQueue
from smsgw.dal.tenant_store import TenantStore
from smsgw.logic.leases import Leasing
from smsgw.logic.send_request_use_case import SendLimits, SendRequests
from smsgw.models.message import iso_from_epoch
from tests.integration.test_replies import (
    LEASED,
    RECIPIENT,
    forward_jobs_from_the_stream,
    inbound,
)

pytestmark = pytest.mark.usefixtures("stack")


def fail_message_writes(monkeypatch, failing: set[str]) -> None:
    """Every DynamoDB write that stores a message whose Text is in `failing` (a set the
    test may change) fails at the client, as an unavailable DynamoDB would answer it."""
    original = BaseClient._make_api_call

    def make_api_call(client, operation, params):
        if operation in ("PutItem", "TransactWriteItems") and any(
            _is_message(item) and item.get("Text") in failing for item in _items(params)
        ):
            error = {"Error": {"Code": "InternalServerError", "Message": "injected"}}
            raise ClientError(error, operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)


def _items(params: dict[str, Any]) -> list[dict[str, Any]]:
    if "Item" in params:
        return [params["Item"]]
    return [e["Put"]["Item"] for e in params.get("TransactItems", []) if "Put" in e]


def _is_message(item: dict[str, Any]) -> bool:
    return str(item.get("PK", "")).startswith("MESSAGE#")


def lease_item(table) -> dict[str, Any]:
    return table.get_item(Key={"PK": f"LEASE#{RECIPIENT}#{LEASED}", "SK": "LEASE"})["Item"]


def test_a_leased_send_whose_message_write_fails_leaves_the_lease_and_its_routing(
    api, admin, functions, simulator, aws_session, stack, table, tenant, monkeypatch, table_stream
):
    # Given a lease whose latest message asks for replies at one webhook
    admin.add_pool_number(LEASED, ["AU"])
    first = api.send({"To": RECIPIENT, "Text": "first", "WebhookUri": "https://a.example/first"})
    assert first.status == 200, first.body
    before = lease_item(table)
    assert before["LastMessageSid"] == first.body["Message"]["MessageSid"]

    # When the next send's message cannot be written
    failing = {"second"}
    fail_message_writes(monkeypatch, failing)
    second = api.send({"To": RECIPIENT, "Text": "second", "WebhookUri": "https://a.example/second"})
    failing.clear()

    # Then it answers 500, and the lease is exactly as it was
    assert second.status == 500, second.body
    assert lease_item(table) == before

    # and a reply on the lease routes by the first message's options, and is listed on it
    assert functions.invoke("webhooks", inbound("YES"))["statusCode"] == 200
    [job] = forward_jobs_from_the_stream(table_stream, functions, aws_session, stack)
    assert json.loads(job["body"])["Uri"] == "https://a.example/first"
    sid = first.body["Message"]["MessageSid"]
    listed = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses")
    assert listed.status == 200
    assert [r["Text"] for r in listed.body["Responses"]] == ["YES"]


def test_parallel_leased_sends_some_failing_leave_a_stored_message_as_the_latest(
    aws_session, stack, admin, table, tenant, monkeypatch
):
    # Given a property's lease, and eight leased sends from it at once, three of which
    # cannot be stored and come while the others are being written
    admin.add_pool_number(LEASED, ["AU"])
    requests = SendRequests(
        tenants=TenantStore(table),
        messages=MessageStore(table),
        queue=SendQueue(aws_session.client("sqs"), stack.queue_url("SendQueue")),
        limits=SendLimits(),
        leasing=Leasing(leases=LeaseStore(table), pool=PoolStore(table)),
    )
    failing = {"send 1", "send 4", "send 6"}
    fail_message_writes(monkeypatch, failing)
    stored_ones_done = threading.Event()

    def send(index: int):
        text = f"send {index}"
        if text in failing:
            stored_ones_done.wait(timeout=30)
        body = {"To": RECIPIENT, "Text": text, "WebhookUri": f"https://a.example/{index}"}
        try:
            return requests.accept(
                property_sid=tenant.property_sid,
                account_sid=tenant.account_sid,
                account_sms_enabled=True,
                read_body=lambda: body,
            ).body["Message"]
        except ClientError as error:
            return error

    send(8)

    with ThreadPoolExecutor(max_workers=8) as workers:
        stored_ones = [workers.submit(send, i) for i in range(8) if f"send {i}" not in failing]
        failed_ones = [workers.submit(send, i) for i in range(8) if f"send {i}" in failing]
        sent = [f.result() for f in stored_ones]
        stored_ones_done.set()
        errors = [f.result() for f in failed_ones]

    # Then five were stored and three failed, and the lease's latest message is one of the
    # five, with its options and its expiry
    assert all(isinstance(e, ClientError) for e in errors)
    assert not any(isinstance(m, ClientError) for m in sent)
    by_sid = {m["MessageSid"]: m for m in sent}
    assert len(by_sid) == 5
    lease = lease_item(table)
    latest = by_sid[lease["LastMessageSid"]]
    assert MessageStore(table).get(latest["MessageSid"], consistent=True) is not None
    index = latest["Text"].removeprefix("send ")
    assert lease["ResponseOptions"]["WebhookUri"] == f"https://a.example/{index}"
    assert latest["Lease"]["ExpiresAt"] == iso_from_epoch(int(lease["ExpiresAt"]))
    assert {m["Lease"]["Number"] for m in sent} == {LEASED}


def test_a_retried_leased_send_answers_its_stored_message_and_leaves_the_lease(
    api, admin, aws_session, stack, table, tenant, monkeypatch
):
    from smsgw.dal.idempotency import IdempotencyStore

    # Given a leased send with an Idempotency-Key whose function died after storing its
    # message, before keeping its answer
    admin.add_pool_number(LEASED, ["AU"])
    complete = IdempotencyStore.complete

    def dies(*args, **kwargs):
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(IdempotencyStore, "complete", dies)
    body = {"To": RECIPIENT, "Text": "first", "WebhookUri": "https://a.example/first"}
    assert api.send(body, headers={"Idempotency-Key": "k-lease"}).status == 500
    monkeypatch.setattr(IdempotencyStore, "complete", complete)
    [record] = [i for i in table.scan()["Items"] if i["PK"].startswith("IDEMPOTENCY#")]
    table.update_item(
        Key={"PK": record["PK"], "SK": record["SK"]},
        UpdateExpression="SET LockedUntil = :past",
        ExpressionAttributeValues={":past": 0},
    )
    # and a later send from the property, now the lease's latest
    later = api.send({"To": RECIPIENT, "Text": "later", "WebhookUri": "https://a.example/later"})
    before = lease_item(table)
    assert before["LastMessageSid"] == later.body["Message"]["MessageSid"]

    # When the client retries the first request
    retried = api.send(body, headers={"Idempotency-Key": "k-lease"})

    # Then it answers the message stored by the first attempt, and the lease still names
    # the later message
    assert retried.status == 200, retried.body
    assert retried.body["Message"]["MessageSid"] == record["MessageSid"]
    assert retried.body["Message"]["Text"] == "first"
    assert lease_item(table) == before
