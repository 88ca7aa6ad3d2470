"""How the local stack's moto slows as its table's history grows, stock moto against the
local stack's (`smsgw_tools.local.atomic_moto` and `moto_query`), in one run.

For each variant, a child process deploys the template into moto in-process, accepts a
few messages through the API's send use case and copies their items (new MessageSids) until
the table holds N messages, as the history of a stack that has run a while. Then it times
the DynamoDB work of a leased send (the API's send use case with a blank `From`; the SQS
job recorded, not sent) and of the scheduler function's invocation (its real handler: a
tick and the reconciliation pass), once with the cursor current (one bucket to release)
and once for a new stack's catch-up (no cursor: 180 buckets of 16 shard queries). DynamoDB
requests are counted at moto by action.

    .venv/bin/python bench/local_stack_growth.py                       # 10,000 messages
    .venv/bin/python bench/local_stack_growth.py --messages 250 10000 --variants stock local

Variants: `stock` moto; `atomic`, with `atomic_moto` only; `local`, the local stack's
moto server (`atomic_moto` and `moto_query`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script, not a test: pytest's pythonpath does not apply
GOALS = {"leased send": 0.5, "tick, cursor current": 2.0}
HISTORY_FROM = "+61499009990"


def child(variant: str, count: int, sends: int, limit: float) -> None:
    """One variant at one size, in this process: each figure printed as a JSON line as it
    is measured. A step past `limit` seconds is reported with the calls it had made, and
    ends the process."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    import boto3
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    from smsgw_tools.local import atomic_moto, moto_query

    calls: Counter[str] = Counter()
    counted = DynamoHandler.call_action

    def counting(self: Any) -> Any:
        calls.update([self._get_action()])
        return counted(self)

    def emit(**figure: Any) -> None:
        print(json.dumps(figure), flush=True)

    def timed(name: str, step: Any) -> float:
        def stop() -> None:
            emit(name=name, stopped=limit, calls=dict(calls))
            os._exit(0)

        watchdog = threading.Timer(limit, stop)
        calls.clear()
        watchdog.start()
        started = time.perf_counter()
        step()
        seconds = time.perf_counter() - started
        watchdog.cancel()
        return seconds

    DynamoHandler.call_action = counting  # type: ignore[method-assign]
    if variant in ("atomic", "local"):
        atomic_moto.install()
    if variant == "local":
        moto_query.install()
    with mock_aws():
        from smsgw_tools.admin.operations import Admin
        from smsgw_tools.local.resources import deploy
        from smsgw_tools.local.stack import DEMO_POOL
        from tests.support import LambdaContext, apply_environment, load_handler

        session = boto3.session.Session(region_name="us-east-1")
        stack = deploy(session)
        table_name = stack.physical_ids["Table"]
        admin = Admin(table_name, session=session)
        account = admin.create_account("Growth")
        prop = admin.create_property(account["AccountSid"], "Growth")["PropertySid"]
        for number, countries in DEMO_POOL:
            admin.add_pool_number(number, countries)
        apply_environment(stack.function_environment("ApiFunction"))
        accept = _acceptor(prop)
        table = session.resource("dynamodb").Table(table_name)
        _grow(table, accept, count)
        emit(name="items", count=_count(table))

        for n in range(sends):
            body = {"From": "", "To": f"+6149157{n:04d}", "Text": "Leased"}
            seconds = timed("leased send", lambda body=body: accept(body))
            emit(name="leased send", seconds=seconds, calls=dict(calls))

        apply_environment(stack.function_environment("SchedulerFunction"))
        scheduler = load_handler("scheduler")
        from smsgw.kernel.scheduling import last_releasable_bucket

        for name, cursor in (
            ("tick, cursor current", last_releasable_bucket(int(time.time())) - 1),
            ("tick, catch-up", None),
        ):
            if cursor is None:
                table.delete_item(Key={"PK": "SCHEDULER", "SK": "CURSOR"})
            else:
                table.put_item(Item={"PK": "SCHEDULER", "SK": "CURSOR", "Bucket": cursor})
            seconds = timed(name, lambda: scheduler.lambda_handler({}, LambdaContext()))
            emit(name=name, seconds=seconds, calls=dict(calls))


def _count(table: Any) -> int:
    page = table.scan(Select="COUNT")
    count = page["Count"]
    while "LastEvaluatedKey" in page:
        page = table.scan(Select="COUNT", ExclusiveStartKey=page["LastEvaluatedKey"])
        count += page["Count"]
    return count


def _acceptor(property_sid: str) -> Any:
    """The API's send use case, its SQS job recorded instead of sent."""
    from smsgw import services
    from smsgw.config import settings
    from smsgw.dal.send_queue import SendQueue

    class _Recording:
        def send_message(self, **_: Any) -> dict[str, str]:
            return {"MessageId": str(uuid.uuid4())}

    requests = replace(
        services.send_requests(), queue=SendQueue(_Recording(), settings().send_queue_url)
    )
    prop = services.tenants().get_property(property_sid)
    account = services.tenants().get_account(prop.account_sid)

    def accept(body: dict[str, str]) -> dict[str, Any]:
        return requests.accept(
            property_sid=property_sid,
            account_sid=prop.account_sid,
            account_sms_enabled=account.sms_enabled,
            read_body=lambda: body,
        ).body["Message"]

    return accept


def _grow(table: Any, accept: Any, count: int) -> None:
    """`count` messages in the table: three accepted, then copies of their items."""
    before = {(i["PK"], i["SK"]) for i in table.scan()["Items"]}
    sids = [
        accept({"From": HISTORY_FROM, "To": f"+614880{n:05d}", "Text": f"History {n}"})[
            "MessageSid"
        ]
        for n in range(3)
    ]
    items = [i for i in table.scan()["Items"] if (i["PK"], i["SK"]) not in before]
    templates = [(sid, [i for i in items if sid in json.dumps(i, default=str)]) for sid in sids]
    with table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
        for n in range(count - len(sids)):
            sid, source = templates[n % len(templates)]
            new_sid = f"SM{uuid.uuid4().hex}"
            for item in source:
                batch.put_item(Item=_renamed(item, sid, new_sid))


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[10_000])
    parser.add_argument("--variants", nargs="+", default=["stock", "local"])
    parser.add_argument("--sends", type=int, default=5, help="leased sends timed (median)")
    parser.add_argument("--limit", type=float, default=300, help="seconds a step may take")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.sends, args.limit)
        return
    for count in args.messages:
        for variant in args.variants:
            argv = [sys.executable, __file__, "--child", variant, str(count)]
            argv += ["--sends", str(args.sends), "--limit", str(args.limit)]
            answer = subprocess.run(argv, capture_output=True, text=True, check=True)
            lines = [line for line in answer.stdout.splitlines() if line.startswith('{"name"')]
            _report(variant, count, [json.loads(line) for line in lines])


def _report(variant: str, count: int, figures: list[dict[str, Any]]) -> None:
    items = next(f["count"] for f in figures if f["name"] == "items")
    print(f"{variant:>6} moto, {count:,} messages ({items:,} items)")
    for name in ("leased send", "tick, cursor current", "tick, catch-up"):
        steps = [f for f in figures if f["name"] == name]
        goal = f"  (goal < {GOALS[name]} s)" if name in GOALS else ""
        if not steps:
            print(f"{'':>8}{name:<22}not reached")
            continue
        stopped = [f for f in steps if "stopped" in f]
        if stopped:
            step = stopped[0]
            took = f"> {step['stopped']:.0f} s, stopped"
        else:
            step = sorted(steps, key=lambda f: f["seconds"])[len(steps) // 2]  # the median
            took = f"{step['seconds']:8.3f} s"
        listed = ", ".join(f"{action} {n}" for action, n in sorted(step["calls"].items()))
        print(f"{'':>8}{name:<22}{took}{goal}  {sum(step['calls'].values())} calls: {listed}")


if __name__ == "__main__":
    main()
