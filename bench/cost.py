"""What one message costs in AWS requests, and what a million of them cost in dollars.

One message goes the whole way through the real handlers, in-process under moto with the
template's resources: the API send (with its authorizer), the sender (to the carrier
simulator), one signed `delivered` receipt through the webhooks function, and the
customer receipt webhook its write causes: the table's stream records, filtered as the
notifier's event source filters them, through the notifier (to a loopback sink). Every AWS
request our code makes is counted by a botocore `before-call` hook on every client; the
DynamoDB request units come from the items' sizes before and after each write (moto does
not report ConsumedCapacity), by DynamoDB's sizing rules, indexes included. Log bytes are
what each handler wrote to stdout. Handler durations are measured here, but moto is far
slower than DynamoDB, so the prices use the stated assumptions instead.

Then it prices a million such messages at the prices in PRICES (us-east-1) and prints a
table per component, for traffic that fills SQS batches (10 records per sender and
notifier invocation) and for traffic that does not (one record per invocation), then one
line with the totals under the other TableBillingMode. The deployment priced is the
template's defaults (each function's MemorySize, the LogLevel, Tracing and
TableBillingMode parameters); the options price another.

DynamoDB at PROVISIONED capacity is priced per capacity-unit hour: one WRU a second,
sustained, needs one WCU, and one RCU serves one RRU a second as this script counts them
(a strongly consistent read of 4 KB is 1, an eventually consistent one 0.5), so a
request unit costs the unit-hour's price / 3600 / the utilisation. The utilisation is the
share of the provisioned capacity that is consumed, on average; auto scaling aims at
TableTargetUtilization (the default here), but scales in slowly and never below the
minimum capacity, so spiky or low traffic achieves less: price that with --utilisation.
The minimum capacity of the table and each index is a fixed cost a month.

    .venv/bin/python bench/cost.py
    .venv/bin/python bench/cost.py --log-level INFO --tracing Active
    .venv/bin/python bench/cost.py --billing-mode PROVISIONED --utilisation 0.5
    .venv/bin/python bench/cost.py --without-external-id
    .venv/bin/python bench/cost.py --text-length 160
    .venv/bin/python bench/cost.py --leased new       # a blank From: the send takes a lease
    .venv/bin/python bench/cost.py --leased renewal   # the property's lease exists: renewed
    .venv/bin/python bench/cost.py --redact           # and the message redacted once delivered
    .venv/bin/python bench/cost.py --retention        # its property keeps text 1 day; and
                                                      # another's deletes its messages
    .venv/bin/python bench/cost.py --rate-limit set   # its carrier has a rate limit
    .venv/bin/python bench/cost.py --rate-limit wait  # ... booked ahead: it waits its turn

With --redact the delivered message is redacted through the API (`POST …/Redact`): its
update's record on the table's stream passes the notifier's filter (a final status with a
receipt webhook), so the notifier is invoked for it and drops it. The difference from the
run without is what a redaction costs.

With --retention the property keeps text one day, and the scheduler's retention pass
(smsgw.logic.retention) runs two days later over the delivered message: its requests and
units are printed apart (a pass serves every message of the period; its Query of the
retaining properties is per pass, not per message), and the notifier's invocation for
the pass's write is in the tables. Beside it, what the other design would cost: the text
in an item of its own that DynamoDB's TTL deletes (a write at the send, a read wherever
the text is read), priced from the same sizes. In the same run, a second property whose
retention deletes its messages (`set-retention --delete-messages`) has a message of the
same shape (sent, delivered, its webhook called) deleted by a pass of its own: its
requests and units are printed beside the text-only pass's.

With --rate-limit the carrier has a limit (`smsgw rate set twilio 20`): `set` finds it
idle, so the message takes its turn (one write) and goes; `wait` finds it booked 3.5 s
ahead, so the message goes round SendQueue once, unclaimed, holding its place in the
line, and takes its turn when it comes back (the sender
invoked twice), then sleeps until its turn. A sleep is priced, not
measured: a waiting record comes back 1 to 2 s before its turn, so one record per
invocation sleeps about RATE_SLEEP_MS["single"]; a batch's records sleep at once, and the
batch lasts about as long as its longest sleep, RATE_SLEEP_MS["batch"] shared by ten
(bench/throughput.py measures the sleeps).

A leased send writes its message and its lease's change (lease, pointer and slot; a
ConditionCheck on the pool number when it takes one) in one TransactWriteItems, at twice
the write units of each item written (the ConditionCheck is not counted here).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script, not a test: pytest's pythonpath does not apply
from tests.integration.conftest import Api, Functions, Tenant, queued_records  # noqa: E402
from tests.receipt_helpers import receipt_form, twilio_receipt_event  # noqa: E402
from tests.support import TableStream  # noqa: E402

# On-demand prices, us-east-1, as published on 2026-11-27 (USD). Sources: "Amazon API
# Gateway pricing" (HTTP APIs, first 300 million requests a month), "AWS Lambda pricing"
# (Arm, first 7.5 billion GB-seconds a month), "Amazon DynamoDB pricing for on-demand
# capacity" (after the November 2024 reduction), "Amazon DynamoDB pricing for provisioned
# capacity" (Standard table class, per unit-hour), "Amazon SQS pricing" (standard queues,
# beyond the free tier; a request is billed per 64 KB chunk), "AWS Secrets Manager
# pricing", "Amazon CloudWatch pricing" (Logs, standard ingestion), "AWS X-Ray pricing"
# (traces recorded), "Amazon EC2 On-Demand pricing" (data transfer out to the internet,
# first 10 TB a month).
PRICES = {
    "apigw_http_request": 1.00 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "dynamodb_wcu_hour": 0.00065,
    "dynamodb_rcu_hour": 0.00013,
    "sqs_request": 0.40 / 1e6,
    "secrets_api_call": 0.05 / 1e4,
    "logs_ingest_gb": 0.50,
    "xray_trace_recorded": 5.00 / 1e6,
    "data_out_gb": 0.09,
}

# Assumptions (stated, not measured against AWS):
# API Gateway caches the authorizer's answer per Authorization header for the template's
# AuthorizerCacheSeconds (default 60 s): a client sending 100 requests a minute costs one
# authorizer call per 100 sends. A client sending once a minute or less costs one per send
# (+$0.20 Lambda requests per million, and its GetItem).
AUTHORIZER_CACHE_SECONDS = 60
REQUESTS_PER_CLIENT_PER_CACHE_PERIOD = 100
# A warm notifier keeps a property's webhook signing secrets for 60 s: a property with 100
# webhooks a minute per warm notifier costs one read of them per 100 webhooks.
WEBHOOKS_PER_PROPERTY_PER_CACHE_PERIOD = 100
SECRET_CACHE_SECONDS = 300  # Powertools Parameters' max_age for the carrier secret
# A warm sender reads the routes once a minute and each carrier's breaker once per 5 s
# (docs/carriers.md): at 100 messages a minute per warm sender, 1/100 and 12/100 of a read
# per message. Its breaker counts are one write per carrier per batch.
SENDER_MESSAGES_PER_MINUTE = 100
ROUTE_READS_PER_MINUTE = 1
BREAKER_READS_PER_MINUTE = 12
WARM_ENVIRONMENTS = 10  # sender/webhooks environments each refreshing their secret
DURATION_MS = {  # a warm invocation in Lambda (mostly waiting on AWS, the carrier, the customer)
    "authorizer": 15,  # one GetItem and a hash check
    "api": 60,  # GetItem property + account, PutItem, SQS SendMessage
    "sender_record": 300,  # the carrier's answer (~250 ms for Twilio), the opt-out read, two writes
    "webhooks": 30,  # signature check, UpdateItem, SQS SendMessage
    "notifier_record": 250,  # the customer's webhook answering + one UpdateItem
}
# A message that waits for its rate limit's turn sleeps the rest in the sender: about 1 s
# alone (bench/throughput.py: 0.9 s mean), and a full batch about its longest sleep, 2 s;
# the invocation that sent it back to the queue claims, books, gives back and sends.
RATE_SLEEP_MS = {"single": 1000, "batch": 2000}
RATE_REQUEUE_MS = 60
RUNTIME_LOG_BYTES = 350  # START, END and REPORT lines Lambda adds per invocation
TEXT = "Your parcel arrives today between 10:00 and 12:00."  # 51 characters
XRAY_SAMPLED = 0.05  # default sampling rule: 1 request/s, then 5%
CARRIER_AND_WEBHOOK_BYTES = 3_000  # HTTPS to the carrier and the customer, per message
FUNCTION_IDS = {
    "authorizer": "AuthorizerFunction",
    "api": "ApiFunction",
    "sender": "SenderFunction",
    "webhooks": "WebhooksFunction",
    "notifier": "NotifierFunction",
}


class LogCapture(io.TextIOBase):
    """Stands in for stdout: counts the bytes each function writes (logs and EMF)."""

    def __init__(self) -> None:
        self.function = "setup"
        self.bytes: Counter = Counter()

    def write(self, text: str) -> int:
        self.bytes[self.function] += len(text.encode())
        return len(text)


class Meter:
    """Counts AWS requests per function and DynamoDB request units, from botocore hooks
    registered on every botocore session the handlers use."""

    def __init__(self, raw_dynamodb: Any, table: str, indexes: list[dict[str, Any]]) -> None:
        self.function = "setup"
        self.calls: dict[str, Counter] = defaultdict(Counter)
        self.units: dict[str, Counter] = defaultdict(Counter)
        self._raw = raw_dynamodb
        self._table = table
        self._indexes = indexes
        self._before = threading.local()
        self.writes: list[tuple] = []
        self.reads: list[tuple] = []

    def register(self, botocore_session: Any) -> None:
        botocore_session.register("before-parameter-build.dynamodb", self._parameters)
        botocore_session.register("before-call", self._before_call)
        botocore_session.register("after-call.dynamodb", self._after_call)

    def _parameters(self, params: dict[str, Any], **_: Any) -> None:
        self._before.params = params  # the API parameters (before-call sees the HTTP request)

    def _before_call(self, model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        self.calls[self.function][f"{service} {model.name}"] += 1
        if service == "dynamodb":
            params = self._before.params
            self._before.items = [self._item(key) for key in _keys(model.name, params)]

    def _after_call(self, model: Any, parsed: dict, **_: Any) -> None:
        name, units = model.name, self.units[self.function]
        params = self._before.params
        if name in ("GetItem", "Query", "BatchGetItem"):
            items = [parsed["Item"]] if "Item" in parsed else parsed.get("Items", [])
            size = sum(item_size(item) for item in items)
            rru = math.ceil(max(size, 1) / 4096) * (1 if params.get("ConsistentRead") else 0.5)
            units["RRU"] += rru
            kind = params["Key"]["PK"]["S"].split("#")[0] if name == "GetItem" else name
            self.reads.append((self.function, kind, rru))
            return
        transactional = 2 if name == "TransactWriteItems" else 1
        for key, before in zip(_keys(name, params), self._before.items, strict=True):
            after = self._item(key)
            wru = transactional * self._write_units(before, after)
            units["WRU"] += wru
            self.writes.append(
                (
                    self.function,
                    name,
                    key["PK"]["S"].split("#")[0],
                    item_size(before or {}),
                    item_size(after or {}),
                    wru,
                )
            )

    def _item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self._raw.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")

    def _write_units(self, before: dict | None, after: dict | None) -> int:
        """WRUs of one item write: the table's, plus each index the item is (or was) in."""
        sizes = [item_size(i) for i in (before, after) if i]
        total = math.ceil(max([*sizes, 1]) / 1024)
        for index in self._indexes:
            keys = [k["AttributeName"] for k in index["KeySchema"]]
            old, new = (
                (tuple(str(i[k]) for k in keys) if i and all(k in i for k in keys) else None)
                for i in (before, after)
            )
            kept = [self._kept(i, index, keys) for i, k in ((before, old), (after, new)) if k]
            projected = [item_size(i) for i in kept]
            if old and new and old == new:
                # An index is written only when what it holds of the item changed.
                total += math.ceil(max(projected) / 1024) if kept[0] != kept[1] else 0
            else:  # entering, leaving, or moving within the index: one write each side
                total += sum(math.ceil(size / 1024) for size in projected)
        return total

    @staticmethod
    def _kept(item: dict[str, Any], index: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        """What the index holds of the item."""
        if index["Projection"]["ProjectionType"] == "ALL":
            return item
        kept = set(keys) | {"PK", "SK"} | set(index["Projection"].get("NonKeyAttributes", []))
        return {k: v for k, v in item.items() if k in kept}


def _keys(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The primary keys a DynamoDB request writes (none for reads)."""
    if operation == "PutItem":
        return [{k: params["Item"][k] for k in ("PK", "SK")}]
    if operation in ("UpdateItem", "DeleteItem"):
        return [params["Key"]]
    if operation == "TransactWriteItems":
        keys = []
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            if kind == "Put":
                keys.append({k: body["Item"][k] for k in ("PK", "SK")})
            elif kind in ("Update", "Delete"):
                keys.append(body["Key"])
        return keys
    return []


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's item size rules."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return (len(data.lstrip("-").replace(".", "").strip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in data.items())
    return sum(len(str(v).encode()) for v in data)  # sets


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def measure(
    projection: str | None = None,
    parameters: dict[str, str] | None = None,
    external_id: bool = True,
    text: str = TEXT,
    leased: str | None = None,
    redact: bool = False,
    retention: bool = False,
    rate_limit: str | None = None,
) -> tuple[Meter, dict[str, float], dict[str, int], dict[str, int], dict[str, int]]:
    """One message through every function; returns the meter, the handler durations (s),
    the log bytes, the invocations and the MemorySize (MB) per function. `projection`
    prices the writes as if every index projected that (e.g. KEYS_ONLY) instead of what
    the template says; `parameters` override the template's defaults. `leased` sends with
    a blank From: `new` takes a lease, `renewal` renews one an unmetered send took."""

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from smsgw_tools.admin.operations import Admin
    from smsgw_tools.local.resources import deploy
    from smsgw_tools.local.sink import WebhookSink
    from smsgw_tools.simulators.server import CarrierSimulator

    durations: dict[str, float] = defaultdict(float)
    invocations: Counter = Counter()
    with mock_aws(), CarrierSimulator() as carrier, WebhookSink() as sink:
        session = boto3.session.Session(region_name="us-east-1")
        stack = deploy(
            session,
            parameters={
                "PublicBaseUrl": "http://127.0.0.1:9",
                "WebhookAllowedNetworks": "127.0.0.0/8,::1/128",
                **(parameters or {}),
            },
        )
        memory = {f: stack.template.functions[i].memory for f, i in FUNCTION_IDS.items()}
        session.client("secretsmanager").put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"],
            SecretString=json.dumps(
                {
                    "AccountSid": carrier.account_sid,
                    "AuthToken": carrier.auth_token,
                    "BaseUrl": carrier.url,
                }
            ),
        )
        admin = Admin(stack.physical_ids["Table"], session=session)
        account = admin.create_account("Cost")
        prop = admin.create_property(account["AccountSid"], "Cost shop")
        tenant = Tenant(account["AccountSid"], account["AuthToken"], prop["PropertySid"])
        table = stack.physical_ids["Table"]
        raw = session.client("dynamodb")
        indexes = raw.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if projection:
            indexes = [{**i, "Projection": {"ProjectionType": projection}} for i in indexes]
        meter = Meter(raw, table, indexes)
        # Every client the functions build comes from the default session, the sender's
        # threads' tables included (smsgw.dal.aws).
        meter.register(boto3._get_default_session()._session)
        functions = Functions(stack)
        invoke = functions.invoke

        from smsgw.observability import logger

        capture = LogCapture()
        logger.registered_handler.setStream(capture)  # it kept the stdout of its import
        # and the level of its import, before any function's environment was applied
        logger.setLevel(stack.function_environment("ApiFunction")["POWERTOOLS_LOG_LEVEL"])

        def metered(function: str, event: dict[str, Any]) -> Any:
            meter.function = capture.function = function
            started = time.perf_counter()
            with contextlib.redirect_stdout(capture):
                result = invoke(function, event)
            durations[function] += time.perf_counter() - started
            invocations[function] += 1
            meter.function = capture.function = "test"
            return result

        api = Api(functions, tenant)
        stream = TableStream(session, stack)
        if retention:
            admin.set_property_retention(tenant.property_sid, 1)
        if leased:
            admin.add_pool_number("+61400000001", ["AU"])
        if retention:
            deleting = _deleted_message_sent(
                admin, account, functions, stack, carrier, sink, leased
            )
            stream.records()
        if rate_limit:
            admin.set_rate("twilio", "20")
        if rate_limit == "wait":  # booked 3.5 s ahead by other messages
            raw.update_item(
                TableName=table,
                Key={"PK": {"S": "RATE"}, "SK": {"S": "twilio"}},
                UpdateExpression="SET #n = :next",
                ExpressionAttributeNames={"#n": "Next"},
                ExpressionAttributeValues={":next": {"N": str(int(time.time() * 1000) + 3500)}},
            )
        if leased == "renewal":
            assert api.send({"From": "", "To": "+61488023555", "Text": text}).status == 200
            queued_records(session, stack)  # its job, out of the way (left invisible)
        functions.invoke = metered
        try:
            response = api.send(
                {
                    "From": "" if leased else "+61499009990",
                    "To": "+61488023555",
                    "Text": text,
                    **({"ExternalId": "order-1"} if external_id else {}),
                    "DeliveryReceiptWebhookUri": f"{sink.url}/hooks",
                }
            )
            assert response.status == 200, response.body
            records = queued_records(session, stack)
            assert metered("sender", {"Records": records}) == {"batchItemFailures": []}
            if rate_limit == "wait":  # the job it queued again, back after its delay
                assert not carrier.submissions()
                time.sleep(2.1)
                records = queued_records(session, stack)
                assert metered("sender", {"Records": records}) == {"batchItemFailures": []}
            submission = carrier.submissions()[-1]
            receipt = twilio_receipt_event(
                submission["StatusCallback"],
                receipt_form(submission["sid"], "delivered"),
                carrier.auth_token,
            )
            assert metered("webhooks", receipt)["statusCode"] == 200
            # Lambda reads the stream (at no charge) and invokes the notifier with what its
            # filter passes: here the receipt's write that made the message delivered.
            callbacks = stream.records()
            for record in callbacks:  # one invocation per callback: the unbatched case
                assert metered("notifier", {"Records": [record]}) == {"batchItemFailures": []}
            assert len(sink.requests()) == len(callbacks)
            if redact:
                sid = response.body["Message"]["MessageSid"]
                path = f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Redact"
                assert api.call("POST", path).status == 200
                for record in stream.records():  # the redaction's write: dropped there
                    assert metered("notifier", {"Records": [record]}) == {"batchItemFailures": []}
                assert len(sink.requests()) == len(callbacks)
            if retention:
                from smsgw.minute_tick import run_retention

                meter.function = "retention"
                assert run_retention(time.time() + 2 * 86400).removed == 1
                meter.function = "test"
                for record in stream.records():  # the pass's write: dropped there
                    assert metered("notifier", {"Records": [record]}) == {"batchItemFailures": []}
                # The other property's pass alone: the first one's period is removed.
                admin.set_property_retention(tenant.property_sid, None)
                admin.set_property_retention(deleting, 1, delete_messages=True)
                meter.function = "retention-delete"
                assert run_retention(time.time() + 2 * 86400).deleted == 1
                meter.function = "test"
                for record in stream.records():  # the deletes: none passes the filter
                    assert metered("notifier", {"Records": [record]}) == {"batchItemFailures": []}
        finally:
            functions.restore()
            logger.registered_handler.setStream(sys.stdout)
    return meter, durations, capture.bytes, invocations, memory


def _deleted_message_sent(
    admin: Any,
    account: dict[str, Any],
    functions: Any,
    stack: Any,
    carrier: Any,
    sink: Any,
    leased: str | None,
) -> str:
    """A second property with a message like the measured one, sent, delivered and its
    webhook called (unmetered): the message its deleting retention pass deletes. Its
    PropertySid; its retention is set later, so that the first pass does not see it."""
    prop = admin.create_property(account["AccountSid"], "Cost shop, deleting")
    api = Api(functions, Tenant(account["AccountSid"], account["AuthToken"], prop["PropertySid"]))
    if leased:
        admin.add_pool_number("+61400000002", ["AU"])
    response = api.send(
        {
            "From": "" if leased else "+61499009990",
            "To": "+61488023555",
            "Text": TEXT,
            "ExternalId": "order-1",
            "DeliveryReceiptWebhookUri": f"{sink.url}/hooks",
        }
    )
    assert response.status == 200, response.body
    session = boto3.session.Session(region_name="us-east-1")
    assert functions.invoke("sender", {"Records": queued_records(session, stack)}) == {
        "batchItemFailures": []
    }
    submission = carrier.submissions()[-1]
    form = receipt_form(submission["sid"], "delivered")
    event = twilio_receipt_event(submission["StatusCallback"], form, carrier.auth_token)
    assert functions.invoke("webhooks", event)["statusCode"] == 200
    records = TableStream(session, stack).records()  # the receipt's write: its webhook
    assert functions.invoke("notifier", {"Records": records}) == {"batchItemFailures": []}
    assert len(sink.requests()) == 1
    sink.reset()
    return prop["PropertySid"]


def price(
    meter: Meter,
    log_bytes: Counter,
    invocations: Counter,
    memory: dict[str, int],
    batch: int,
    traced: bool,
    receipts_on_api: bool,
    billing_mode: str = "PAY_PER_REQUEST",
    utilisation: float = 0.7,
    rate_wait: bool = False,
) -> list[tuple]:
    """(component, requests per message, $ per million messages, note) rows. PROVISIONED
    prices the request units as capacity consumed at `utilisation`."""
    calls = meter.calls
    per_record = {"sender": batch, "notifier": batch}
    rows = []
    # The send; the carrier's receipt too if its route is on the HTTP API (it is on the
    # webhooks function's URL in this template: no per-request charge beyond Lambda's).
    apigw = invocations["api"] + (invocations["webhooks"] if receipts_on_api else 0)
    rows.append(
        (
            "API Gateway HTTP API",
            apigw,
            apigw * PRICES["apigw_http_request"] * 1e6,
            "the send + the receipt" if receipts_on_api else "the send (receipts: function URL)",
        )
    )
    authorizer_share = 1 / REQUESTS_PER_CLIENT_PER_CACHE_PERIOD
    lambda_invocations = {
        "authorizer": authorizer_share,
        "api": invocations["api"],
        "sender": invocations["sender"] / per_record["sender"],
        "webhooks": invocations["webhooks"],
        "notifier": invocations["notifier"] / per_record["notifier"],
    }
    requests = sum(lambda_invocations.values())
    rows.append(
        (
            "Lambda requests",
            requests,
            requests * PRICES["lambda_request"] * 1e6,
            f"authorizer {authorizer_share:g} (cached), sender/notifier batches of {batch}",
        )
    )
    # A batch's records run concurrently: a full batch costs about one record's time.
    batch_factor = (1 + 0.1 * (batch - 1)) / batch
    sender_ms = DURATION_MS["sender_record"] * batch_factor
    if rate_wait:  # one invocation sent it back; the other submitted it after a sleep
        sleep = RATE_SLEEP_MS["batch"] / batch if batch > 1 else RATE_SLEEP_MS["single"]
        sender_ms += RATE_REQUEUE_MS * batch_factor + sleep
    seconds = {
        "authorizer": authorizer_share * DURATION_MS["authorizer"],
        "api": invocations["api"] * DURATION_MS["api"],
        "webhooks": invocations["webhooks"] * DURATION_MS["webhooks"],
        "sender": sender_ms,
        "notifier": invocations["notifier"] * DURATION_MS["notifier_record"] * batch_factor,
    }
    gb_seconds = sum(ms / 1000 * memory[f] / 1024 for f, ms in seconds.items())
    sizes = ", ".join(f"{f} {memory[f]}" for f in ("api", "sender", "webhooks", "notifier"))
    rows.append(
        (
            "Lambda GB-seconds (arm64)",
            gb_seconds,
            gb_seconds * PRICES["lambda_gb_second_arm"] * 1e6,
            f"GB-s per message; MB: {sizes}",
        )
    )
    wru = sum(u["WRU"] for f, u in meter.units.items() if f in lambda_invocations)
    rru = sum(u["RRU"] for f, u in meter.units.items() if f in lambda_invocations)
    ddb_calls = sum(
        n
        for f, c in calls.items()
        if f in lambda_invocations
        for op, n in c.items()
        if op.startswith("dynamodb")
    )
    authorizer_rru = meter.units["authorizer"]["RRU"]
    rru = rru - authorizer_rru + authorizer_rru * authorizer_share
    # the notifier's read of the property's signing secrets, cached like the authorizer's
    secrets_rru = sum(r for f, kind, r in meter.reads if (f, kind) == ("notifier", "PROPERTY"))
    rru = rru - secrets_rru + secrets_rru / WEBHOOKS_PER_PROPERTY_PER_CACHE_PERIOD
    # the sender's routes and breaker state, cached per warm sender
    for kind, per_minute in (
        ("Query", ROUTE_READS_PER_MINUTE),
        ("BREAKER", BREAKER_READS_PER_MINUTE),
    ):
        cached = sum(r for f, k, r in meter.reads if (f, k) == ("sender", kind))
        rru = rru - cached + cached * per_minute / SENDER_MESSAGES_PER_MINUTE
    # the breaker's counts: one write per carrier per batch
    counted = sum(w[-1] for w in meter.writes if (w[0], w[2]) == ("sender", "BREAKER"))
    wru = wru - counted + counted / batch
    if billing_mode == "PROVISIONED":
        # A unit a second for an hour, of which `utilisation` is consumed.
        wru_price = PRICES["dynamodb_wcu_hour"] / 3600 / utilisation
        rru_price = PRICES["dynamodb_rcu_hour"] / 3600 / utilisation
        capacity = f", provisioned at {utilisation:.0%} utilisation"
    else:
        wru_price, rru_price, capacity = PRICES["dynamodb_wru"], PRICES["dynamodb_rru"], ""
    rows.append(
        (
            "DynamoDB writes (WRU)",
            wru,
            wru * wru_price * 1e6,
            f"{ddb_calls} DynamoDB calls in all{capacity}",
        )
    )
    rows.append(
        (
            "DynamoDB reads (RRU)",
            rru,
            rru * rru_price * 1e6,
            f"the authorizer's, webhook secrets', routes' and breakers' reads amortized "
            f"(cached){capacity}",
        )
    )
    ours = sum(
        n
        for f, c in calls.items()
        if f in lambda_invocations
        for op, n in c.items()
        if op.startswith("sqs")
    )
    # The sender's event source: ReceiveMessage and DeleteMessageBatch per batch on
    # SendQueue; its empty long polls are a fixed cost per queue (below), not per message.
    # The notifier's receipt webhooks come from the table's stream, which Lambda reads at
    # no charge; CallbackQueue carries only retries and replies.
    poller = 2 * invocations["sender"] / batch  # a job sent back comes round again
    rows.append(
        (
            "SQS requests",
            ours + poller,
            (ours + poller) * PRICES["sqs_request"] * 1e6,
            f"ours {ours} + event source {poller:g} (receive + delete per batch, SendQueue)",
        )
    )
    logged = (
        sum(log_bytes[f] for f in lambda_invocations if f != "authorizer")
        + log_bytes["authorizer"] * authorizer_share
        + RUNTIME_LOG_BYTES * requests
    )
    rows.append(
        (
            "CloudWatch Logs ingestion",
            logged,
            logged / 1e9 * PRICES["logs_ingest_gb"] * 1e6,
            "bytes per message (handlers' JSON logs + EMF + runtime lines)",
        )
    )
    traces = requests * XRAY_SAMPLED if traced else 0.0
    rows.append(
        (
            "X-Ray traces",
            traces,
            traces * PRICES["xray_trace_recorded"] * 1e6,
            f"Tracing Active: {XRAY_SAMPLED:.0%} sampled" if traced else "Tracing PassThrough",
        )
    )
    rows.append(
        (
            "Data transfer out",
            CARRIER_AND_WEBHOOK_BYTES,
            CARRIER_AND_WEBHOOK_BYTES / 1e9 * PRICES["data_out_gb"] * 1e6,
            "bytes per message to the carrier and the customer",
        )
    )
    return rows


def print_retention(meter: Meter, text_length: int) -> None:
    """The retention passes' DynamoDB work for the message (text removed, or the message
    deleted), and the TTL design's."""
    for function, what in (("retention", "text removed"), ("retention-delete", "deleted")):
        calls = ", ".join(f"{op} {n}" for op, n in sorted(meter.calls[function].items()))
        units = meter.units[function]
        sweep = units["WRU"] * PRICES["dynamodb_wru"] + units["RRU"] * PRICES["dynamodb_rru"]
        print(
            f"\nRetention pass (scheduler), the one message {what}: {calls}"
            f"  | WRU {units['WRU']:g}, RRU {units['RRU']:g}  -> ${sweep * 1e6:.2f} / 1M messages"
            " (of which the Query and GetItem of the retaining properties are per pass)"
        )
    text_item = {
        "PK": {"S": "MESSAGETEXT#SM" + "0" * 32},
        "SK": {"S": "MESSAGETEXT"},
        "Text": {"S": "x" * text_length},
        "ExpiresAt": {"N": "1800000000"},
    }
    put = math.ceil(item_size(text_item) / 1024)
    read = 0.5  # an eventually consistent read of up to 4 KB
    ttl = put * PRICES["dynamodb_wru"] + read * PRICES["dynamodb_rru"]
    print(
        f"TTL on a text item instead: {item_size(text_item)} bytes, PutItem {put} WRU at the"
        f" send (x2 in a leased send's transaction), GetItem {read} RRU by the sender"
        f" -> ${ttl * 1e6:.2f} / 1M messages, + ${read * PRICES['dynamodb_rru'] * 1e6:.2f}"
        " / 1M for every GET or listed message; its deletion is free"
    )


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--projection",
        choices=("KEYS_ONLY",),
        help="price the index writes as if every index projected only its keys",
    )
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--tracing", choices=("Active", "PassThrough"))
    parser.add_argument("--billing-mode", choices=("PAY_PER_REQUEST", "PROVISIONED"))
    parser.add_argument(
        "--utilisation",
        type=float,
        help="the share of provisioned capacity consumed (default: TableTargetUtilization)",
    )
    parser.add_argument(
        "--without-external-id",
        action="store_true",
        help="send without an ExternalId (its GSI2 entry is one write unit)",
    )
    parser.add_argument(
        "--text-length",
        type=int,
        help="a Text of this many characters (the default is 51): a longer one makes the item larger",
    )
    parser.add_argument(
        "--leased",
        choices=("new", "renewal"),
        help="a blank From: the send takes a new lease, or renews the property's lease",
    )
    parser.add_argument(
        "--redact",
        action="store_true",
        help="redact the message once delivered (POST …/Redact): the difference is its cost",
    )
    parser.add_argument(
        "--retention",
        action="store_true",
        help="the property keeps text 1 day: price the scheduler's pass that removes it",
    )
    parser.add_argument(
        "--rate-limit",
        choices=("set", "wait"),
        help="its carrier has a rate limit: idle (set), or booked ahead so it waits its turn",
    )
    args = parser.parse_args()
    if args.utilisation is not None and not 0 < args.utilisation <= 1:
        parser.error("--utilisation is a fraction: more than 0, at most 1")
    overrides = {
        "LogLevel": args.log_level,
        "Tracing": args.tracing,
        "TableBillingMode": args.billing_mode,
    }
    parameters = {k: v for k, v in overrides.items() if v}
    meter, durations, log_bytes, invocations, memory = measure(
        args.projection,
        parameters,
        external_id=not args.without_external_id,
        text=(TEXT * 40)[: args.text_length] if args.text_length else TEXT,
        leased=args.leased,
        redact=args.redact,
        retention=args.retention,
        rate_limit=args.rate_limit,
    )
    from smsgw_tools.template.loading import load

    template = load()
    deployed = template.parameter_defaults() | parameters
    traced = deployed["Tracing"] == "Active"
    receipts_on_api = any(r.function == FUNCTION_IDS["webhooks"] for r in template.routes)
    billing_mode = deployed["TableBillingMode"]
    utilisation = args.utilisation or int(deployed["TableTargetUtilization"]) / 100
    print(f"Deployment priced: LogLevel {deployed['LogLevel']}, Tracing {deployed['Tracing']}")
    print(
        f"                   TableBillingMode {billing_mode}"
        + (f" ({utilisation:.0%} utilisation)" if billing_mode == "PROVISIONED" else "")
        + "\n"
    )
    redaction = ", redaction" if args.redact else ""
    print(
        f"AWS requests our code made for one message (send, sender, 1 receipt, callbacks"
        f"{redaction}):"
    )
    for function in ("authorizer", "api", "sender", "webhooks", "notifier"):
        calls = ", ".join(f"{op} {n}" for op, n in sorted(meter.calls[function].items()))
        units = meter.units[function]
        print(
            f"  {function:<10} x{invocations[function]}  {calls}"
            f"  | WRU {units['WRU']:g}, RRU {units['RRU']:g}"
            f"  | {log_bytes[function]} log bytes, {durations[function] * 1000:.0f} ms here"
        )
    print("\nDynamoDB writes: function, operation, item, bytes before -> after, WRU (indexes too)")
    for function, operation, kind, before, after, wru in meter.writes:
        if function not in ("setup", "test"):
            print(f"  {function:<10} {operation:<18} {kind:<10} {before:>5} -> {after:>5}  {wru}")
    if args.retention:
        print_retention(
            meter, len(TEXT if not args.text_length else (TEXT * 40)[: args.text_length])
        )
    other_mode = "PAY_PER_REQUEST" if billing_mode == "PROVISIONED" else "PROVISIONED"
    other_totals = {}
    for batch in (1, 10):
        common = (meter, log_bytes, invocations, memory, batch, traced, receipts_on_api)
        waited = args.rate_limit == "wait"
        rows = price(*common, billing_mode, utilisation, rate_wait=waited)
        total = sum(row[2] for row in rows)
        other = price(*common, other_mode, utilisation, rate_wait=waited)
        other_totals[batch] = sum(row[2] for row in other)
        label = "one record per invocation" if batch == 1 else "full batches of 10"
        print(f"\nPer 1 million messages, {label}:")
        print(f"  {'component':<36}{'per message':>12}{'$ / 1M':>10}  note")
        for component, quantity, dollars, note in rows:
            print(f"  {component:<36}{quantity:>12.4g}{dollars:>10.2f}  {note}")
        print(f"  {'total':<36}{'':>12}{total:>10.2f}  target <= 6.00")
    # The table and each of its indexes hold their minimum capacity around the clock (730
    # hours a month).
    tables = 1 + len(template.sam["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"])
    minimum = (
        tables
        * 730
        * (
            int(deployed["TableMinWriteCapacity"]) * PRICES["dynamodb_wcu_hour"]
            + int(deployed["TableMinReadCapacity"]) * PRICES["dynamodb_rcu_hour"]
        )
    )
    units = (
        f"{tables} x ({deployed['TableMinWriteCapacity']} WCU"
        f" + {deployed['TableMinReadCapacity']} RCU), the table and its indexes"
    )
    totals = f"${other_totals[10]:.2f} full batches / ${other_totals[1]:.2f} one per invocation"
    if other_mode == "PROVISIONED":
        print(
            f"\nPer 1 million messages at provisioned capacity, {utilisation:.0%} utilisation:"
            f" {totals} (+ ${minimum:.2f} a month of minimum capacity: {units})"
        )
    else:
        print(f"\nPer 1 million messages on demand (PAY_PER_REQUEST): {totals}")
    provisioned = billing_mode == "PROVISIONED"
    floor = f"the minimum capacity ${minimum:.2f} ({units}), " if provisioned else ""
    secret_calls = WARM_ENVIRONMENTS * 2 * 30 * 24 * 3600 / SECRET_CACHE_SECONDS
    print(
        "\nFixed costs a month, not per message: the carrier secret $0.40 and its reads"
        f" ${secret_calls * PRICES['secrets_api_call']:.2f} ({WARM_ENVIRONMENTS} warm sender and"
        f" {WARM_ENVIRONMENTS} webhooks environments re-reading it every"
        f" {SECRET_CACHE_SECONDS // 60} min), the event sources' empty long polls"
        f" (~$0.26 per queue: SendQueue, CallbackQueue), {floor}custom metrics and alarms."
        " The table's stream costs nothing when only Lambda reads it."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
