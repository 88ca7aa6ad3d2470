"""Failover between carriers, counted at both: N messages on a route `+61 → twilio, vonage`
with Twilio answering 5xx from the start, or from the middle of the run.

Everything runs in-process: moto holds the template's resources, a Twilio and a Vonage
simulator answer over HTTP, and the sender's real handler (one warm execution environment,
its template environment, the circuit breaker's defaults) takes the messages as SQS-event
records, ten to a batch, one batch after another; a record it reports failed is delivered
again, as the event source would. The messages are accepted by the API's send use case.

Printed per scenario: messages delivered (by carrier), submissions counted at each
simulator, duplicates (a text submitted more than once, both simulators together), lost
(a message neither sent nor final, nor dead-lettered), and how long new messages kept
trying the dead carrier: those after the failure whose events show an attempt at Twilio,
the time from the failure to the last of them before the breaker opened, and the probes
after its cool-down.

    .venv/bin/python bench/failover.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script, not a test: pytest's pythonpath does not apply

from tests.support import TEST_AWS_ENVIRONMENT, message_item, reset_process_caches  # noqa: E402

os.environ.update(TEST_AWS_ENVIRONMENT)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from smsgw_tools.admin.operations import Admin  # noqa: E402
from smsgw_tools.local.resources import deploy  # noqa: E402
from smsgw_tools.simulators.server import CarrierSimulator  # noqa: E402
from tests.integration.test_failover import TwoCarriers  # noqa: E402
from tests.reliability.conftest import QueueModel, Sender  # noqa: E402

BATCH = 10
FINAL = {"sent", "delivered", "undelivered", "failed", "rejected", "cancelled"}


DOWN = 10**6  # submissions the failing Twilio refuses: all of them


def asked_at(twilio: CarrierSimulator) -> int:
    """Submissions Twilio has refused since it went down."""
    fault = twilio.state.fault()
    return DOWN - fault["remaining"] if fault.get("mode") == "5xx" else 0


def run(messages: int, fail_after: int) -> None:
    reset_process_caches()
    with (
        mock_aws(),
        CarrierSimulator(carrier="twilio") as twilio,
        CarrierSimulator(carrier="vonage") as vonage,
    ):
        session = boto3.session.Session(region_name="us-east-1")
        stack = deploy(session, "smsgw-bench")
        admin = Admin(stack.physical_ids["Table"], session=session)
        TwoCarriers(session, stack, twilio, vonage)
        admin.set_route("+61", ["twilio", "vonage"], stack.parameters["CarrierSecretName"])
        account = admin.create_account("Failover bench")
        prop = admin.create_property(account["AccountSid"], "Bench")["PropertySid"]
        sender = Sender(stack)
        try:
            sid_by_text, records = sender.accept(prop, messages)
            queue = QueueModel()
            failed_at = None
            asked: list[tuple[int, float]] = []  # per batch after the failure: Twilio asked, when
            for start in range(0, len(records), BATCH):
                if start >= fail_after and failed_at is None:
                    twilio.set_fault("5xx", count=DOWN)  # Twilio is down from here on
                    failed_at = time.monotonic()
                before = asked_at(twilio)
                pending = records[start : start + BATCH]
                while pending:
                    answer = sender.invoke([queue.deliver(record) for record in pending])
                    failures = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
                    pending = queue.settle(pending, failures)
                if failed_at is not None:
                    asked.append((asked_at(twilio) - before, time.monotonic() - failed_at))
        finally:
            sender.restore()

        items = {text: message_item(session, stack, sid) for text, sid in sid_by_text.items()}
        bodies = Counter(s["Body"] for sim in (twilio, vonage) for s in sim.submissions())
        dead = len(queue.dead_letters)
        by_carrier = Counter(
            item.get("Carrier") for item in items.values() if item["Status"] == "sent"
        )
        lost = sum(1 for item in items.values() if item["Status"] not in FINAL) - dead
        # the batches right after the failure that still asked Twilio, before its breaker
        # opened; any later ask is a probe after the cool-down
        opening = next((i for i, (count, _) in enumerate(asked) if count == 0), len(asked))
        first_asks = sum(count for count, _ in asked[:opening])
        stopped = asked[opening - 1][1] if opening else 0.0
        probes = sum(count for count, _ in asked[opening:])
        print(
            f"{'from the start' if fail_after == 0 else f'after {fail_after} messages'}: "
            f"{messages} messages, sent {sum(by_carrier.values())} "
            f"({dict(by_carrier)}), submissions twilio {len(twilio.submissions())} / "
            f"vonage {len(vonage.submissions())}, duplicates "
            f"{sum(c - 1 for c in bodies.values())}, lost {max(lost, 0)}, "
            f"dead-lettered {dead}; of the {messages - fail_after} messages after the failure, "
            + (
                f"twilio was asked {first_asks} in {stopped:.2f} s until its breaker opened, "
                f"then {probes} probes after the cool-down"
                if opening < len(asked)
                else f"twilio was asked {first_asks} in {stopped:.2f} s: its breaker never opened"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    run(args.messages, 0)
    run(args.messages, args.messages // 2)


if __name__ == "__main__":
    main()
