"""What a DynamoDB call costs the tests and the local stack, moto as it comes against moto
with the local stack's speedups (`smsgw_tools.local.moto_speedups`), in one run.

Each round deploys nothing: it makes a table shaped like the product's (keys, one index)
in moto in-process and makes the calls a sent message costs it, through boto3, as the
product does: a conditional PutItem of the message, the sender's conditional UpdateItem
claim with ALL_NEW, a GetItem and a Query of its partition. Rounds alternate between the
variants, so the machine's load falls on both alike; the figure is the median round.

    .venv/bin/python bench/moto_calls.py                  # 5 rounds of 300 messages
    .venv/bin/python bench/moto_calls.py --rounds 7 --messages 500
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools"):  # a script, not a test: pytest's pythonpath does not apply
    sys.path.insert(0, str(path))
VARIANTS = ("stock", "speedups")
CALLS_PER_MESSAGE = 4


def one_round(variant: str, messages: int) -> float:
    """Milliseconds per call, `messages` messages' calls on a new table."""
    import boto3
    import pytest
    from moto import mock_aws

    from smsgw_tools.local import moto_speedups
    from tests.support import create_keyed_table

    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        if variant == "speedups":
            moto_speedups.install(patch.setattr)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(dynamodb)
        started = time.perf_counter()
        for n in range(messages):
            _message_calls(dynamodb, n)
        return 1000 * (time.perf_counter() - started) / (messages * CALLS_PER_MESSAGE)


def _message_calls(dynamodb: Any, n: int) -> None:
    key = {"PK": {"S": f"MESSAGE#{n}"}, "SK": {"S": "MESSAGE"}}
    event = {"M": {"Status": {"S": "queued"}, "At": {"S": "2026-12-04T00:00:00Z"}}}
    dynamodb.put_item(
        TableName="t",
        Item={
            **key,
            "GSI1PK": {"S": "PROPERTY#PR1"},
            "GSI1SK": {"N": str(n)},
            "Status": {"S": "queued"},
            "Body": {"S": "Your code is 123456. " * 4},
            "To": {"S": "+61488000000"},
            "Events": {"L": [event]},
        },
        ConditionExpression="attribute_not_exists(PK)",
    )
    dynamodb.update_item(
        TableName="t",
        Key=key,
        UpdateExpression="SET #s = :s, Attempt = if_not_exists(Attempt, :z) + :one, "
        "Events = list_append(Events, :e) REMOVE Recovery",
        ConditionExpression="#s = :q AND attribute_not_exists(ClaimedBy)",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={
            ":s": {"S": "sending"},
            ":q": {"S": "queued"},
            ":z": {"N": "0"},
            ":one": {"N": "1"},
            ":e": {"L": [event]},
        },
        ReturnValues="ALL_NEW",
    )
    dynamodb.get_item(TableName="t", Key=key, ConsistentRead=True)
    dynamodb.query(
        TableName="t",
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": key["PK"]},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    rounds: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    one_round("stock", 20)  # imports and botocore's models loaded before any round counts
    for _ in range(args.rounds):
        for variant in VARIANTS:
            rounds[variant].append(one_round(variant, args.messages))
    median = {variant: statistics.median(times) for variant, times in rounds.items()}
    calls = args.messages * CALLS_PER_MESSAGE
    print(f"{calls} calls a round, {args.rounds} rounds, alternating; median ms per call:")
    for variant in VARIANTS:
        spread = ", ".join(f"{t:.2f}" for t in rounds[variant])
        print(f"  {variant:9} {median[variant]:.2f}   (rounds: {spread})")
    print(f"  speedups / stock: {median['speedups'] / median['stock']:.2f}")


if __name__ == "__main__":
    main()
