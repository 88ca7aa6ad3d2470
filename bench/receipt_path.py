"""Receipts per second through the webhooks function, and the AWS calls each one costs.

The template's resources are created in moto in-process (`moto.mock_aws`); N sent messages
that want a receipt webhook are stored; then the real `functions/webhooks/app.py` handler
is invoked in-process, with its template environment, on N signed Twilio status callbacks
(API Gateway v2 events), in three rounds:

  applied    `delivered` naming our MessageSid (the normal case)
  duplicate  the same receipts again (late/duplicate: recorded only)
  lookup     `delivered` receipts without smsgw_sid, for other messages (carrier-id lookup)

AWS calls are counted with a botocore `before-call` hook on the default session. moto
in-process is slower than DynamoDB per call, so receipts/s is a floor for one warm Lambda;
the calls per receipt are what carry over to AWS.

    .venv/bin/python bench/receipt_path.py [--receipts 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script, not a test: pytest's pythonpath does not apply
from tests.receipt_helpers import receipt_form, twilio_receipt_event  # noqa: E402
from tests.support import LambdaContext, apply_environment, load_handler  # noqa: E402

BASE = "https://abc123.execute-api.us-east-1.amazonaws.com"
TOKEN = "bench-token"


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1


def store_messages(table: Any, tenant: dict[str, str], count: int, prefix: str) -> list[tuple]:
    from smsgw.dal.message_store import MessageStore
    from smsgw.dal.receipt_store import ReceiptStore

    messages, receipts, sent = MessageStore(table), ReceiptStore(table), []
    from smsgw.models.message import Message

    for n in range(count):
        sid, carrier_sid = f"SM{prefix}{n:030d}", f"SM{prefix}c{n:029d}"
        messages.create(
            Message(
                message_sid=sid,
                account_sid=tenant["AccountSid"],
                property_sid=tenant["PropertySid"],
                sender="+61499009990",
                sender_type="e164",
                to="+61488023555",
                text=f"Bench {n}",
                status="sent",
                segments=1,
                encoding="GSM-7",
                date_created="2026-11-27T02:10:20.639Z",
                delivery_receipt_webhook_uri="https://hooks.example.com/r",
                carrier="twilio",
                carrier_sid=carrier_sid,
                events=[{"Status": "sent", "Timestamp": "2026-11-27T02:10:20.900Z"}],
            )
        )
        receipts.remember_carrier_sid("twilio", carrier_sid, sid)
        sent.append((sid, carrier_sid))
    return sent


def run_round(handler: Any, events: list[dict], counter: CallCounter) -> tuple[float, Counter]:
    counter.calls.clear()
    started = time.perf_counter()
    for event in events:
        result = handler.lambda_handler(event, LambdaContext())
        assert result["statusCode"] == 200, result
    elapsed = time.perf_counter() - started
    return elapsed, Counter(counter.calls)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=200)
    args = parser.parse_args()
    n = args.receipts
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="1",
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_NAMESPACE="SmsGateway",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    counter = CallCounter()
    with mock_aws():
        # Registered before any client exists: every client of the default session counts.
        boto3.setup_default_session(region_name="us-east-1")
        boto3.DEFAULT_SESSION.events.register("before-call", counter)
        from smsgw_tools.admin.operations import Admin
        from smsgw_tools.local.resources import deploy

        session = boto3.DEFAULT_SESSION
        stack = deploy(session)
        session.client("secretsmanager").put_secret_value(
            SecretId=stack.parameters["CarrierSecretName"],
            SecretString=f'{{"AccountSid": "AC1", "AuthToken": "{TOKEN}", "BaseUrl": "{BASE}"}}',
        )
        admin = Admin(stack.physical_ids["Table"], session=session)
        account = admin.create_account("Bench")
        prop = admin.create_property(account["AccountSid"], "Bench")
        tenant = {"AccountSid": account["AccountSid"], "PropertySid": prop["PropertySid"]}
        table = session.resource("dynamodb").Table(stack.physical_ids["Table"])
        named = store_messages(table, tenant, n, "a")
        unnamed = store_messages(table, tenant, n, "b")

        apply_environment(stack.function_environment("WebhooksFunction"))
        handler = load_handler("webhooks")
        from smsgw.observability import logger

        logger.setLevel("WARNING")  # one log line per receipt otherwise
        url = f"{BASE}/v1/Carriers/twilio/Receipts"

        def event(sid: str | None, carrier_sid: str) -> dict:
            target = f"{url}?smsgw_sid={sid}" if sid else url
            return twilio_receipt_event(target, receipt_form(carrier_sid, "delivered"), TOKEN)

        # Warm-up: the first invocation fetches the secret and opens connections.
        run_round(handler, [event(None, "SMwarm")], counter)
        rounds = {
            "applied": [event(sid, carrier_sid) for sid, carrier_sid in named],
            "duplicate": [event(sid, carrier_sid) for sid, carrier_sid in named],
            "lookup": [event(None, carrier_sid) for _, carrier_sid in unnamed],
        }
        print(f"{n} receipts per round, webhooks handler in-process, moto in-process\n")
        print(f"{'round':<10} {'receipts/s':>10} {'ms each':>8}  AWS calls per receipt")
        for name, events in rounds.items():
            elapsed, calls = run_round(handler, events, counter)
            per = ", ".join(f"{op} {count / n:g}" for op, count in sorted(calls.items()))
            total = sum(calls.values()) / n
            print(f"{name:<10} {n / elapsed:>10.0f} {1000 * elapsed / n:>8.2f}  {total:g} ({per})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
