"""AWS faults for the reliability suites (issue #15, item 4): DynamoDB and SQS calls that
fail after botocore's own retries, on any path.

A rule names a service, an operation and, optionally, which of its calls (a predicate on
the request's JSON body: the table key, the queue, the update). A `before-call` hook
decides per API call whether a rule takes it; a `before-send` hook then answers every
attempt of that call with the service's error (a 400 throttling error, or a 500/503), which
botocore parses and retries as it would the real one, so the product sees the ClientError
only once botocore's standard retry mode has spent its attempts. The failed attempt is
pointed at an address moto does not serve, so that, like a real refused request, it
changes nothing. botocore's backoff sleeps are scaled down a hundredfold (its retry
decisions stay its own), so a run measures decisions, not sleeps.

The hooks are installed on the default botocore session and on every session created
while the fixture lives (the sender's and notifier's per-thread sessions, the clients a
simulated cold start creates); the test's own `aws_session` is left alone.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

FAULT_MESSAGES = int(os.environ.get("SMSGW_FAULT_MESSAGES", "5"))
"""Messages (or requests, replies) per row of the AWS-fault tests; a larger run:
SMSGW_FAULT_MESSAGES=50."""

THROTTLED = "throttled"
INTERNAL = "internal"
UNAVAILABLE = "unavailable"

ERRORS = {
    ("dynamodb", THROTTLED): (400, "ProvisionedThroughputExceededException"),
    ("dynamodb", INTERNAL): (500, "InternalServerError"),
    ("dynamodb", UNAVAILABLE): (503, "ServiceUnavailable"),
    ("sqs", THROTTLED): (400, "RequestThrottled"),
    ("sqs", INTERNAL): (500, "InternalError"),
    ("sqs", UNAVAILABLE): (503, "ServiceUnavailable"),
}
"""What each service answers for a fault: the status and the error code botocore parses
(`__type` of the JSON protocol both use). botocore retries every one of them: the 400s as
throttling, the 5xx as transient."""
_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}


@dataclass
class Rule:
    """Calls of `service`'s `operation` (None: any of its operations) for which
    `where(body)` holds fail with `fault`: on every attempt, or on the first `attempts` of
    each (botocore's retry then goes through, as a passing throttle does); `calls` limits
    how many calls (None: every one while the rule stands)."""

    service: str
    operation: str | None
    fault: str
    where: Callable[[dict[str, Any]], bool]
    calls: int | None = None
    attempts: int | None = None
    failed: int = 0

    def takes(self, service: str, operation: str, body: dict[str, Any]) -> bool:
        if service != self.service or self.operation not in (None, operation):
            return False
        if self.calls is not None and self.failed >= self.calls:
            return False
        return bool(self.where(body))


class AwsFaults:
    """The rules in force and what they did: `failed` counts the calls that failed (each
    on every attempt), by (service, operation, fault)."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._call = threading.local()
        self.failed: Counter[tuple[str, str, str]] = Counter()
        self.attempts = 0

    def fail(
        self,
        service: str,
        operation: str | None,
        fault: str = THROTTLED,
        *,
        where: Callable[[dict[str, Any]], bool] = lambda body: True,
        calls: int | None = None,
        attempts: int | None = None,
    ) -> Rule:
        rule = Rule(service, operation, fault, where, calls, attempts)
        with self._lock:
            self._rules.append(rule)
        return rule

    def stop(self, rule: Rule | None = None) -> None:
        """Lift one rule, or all of them."""
        with self._lock:
            self._rules = [r for r in self._rules if rule is not None and r is not rule]

    @property
    def calls_failed(self) -> int:
        return sum(self.failed.values())

    def summary(self) -> str:
        return ", ".join(
            f"{s}:{op} {fault} {n}" for (s, op, fault), n in sorted(self.failed.items())
        )

    def register(self, session: Any) -> None:
        session.register("before-call", self._before_call, unique_id="smsgw-aws-faults-call")
        session.get_component("event_emitter").register_first(
            "before-send", self._before_send, unique_id="smsgw-aws-faults-send"
        )

    def unregister(self, session: Any) -> None:
        session.unregister("before-call", self._before_call, unique_id="smsgw-aws-faults-call")
        session.unregister("before-send", self._before_send, unique_id="smsgw-aws-faults-send")

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        rule = None
        if self._rules and service in _PREFIX:
            body = _json(params.get("body"))
            with self._lock:
                rule = next((r for r in self._rules if r.takes(service, model.name, body)), None)
                if rule is not None:
                    rule.failed += 1
                    self.failed[(service, model.name, rule.fault)] += 1
        self._call.rule, self._call.attempts = rule, 0

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        rule = getattr(self._call, "rule", None)
        if rule is None or (rule.attempts is not None and self._call.attempts >= rule.attempts):
            return None
        self._call.attempts += 1
        with self._lock:
            self.attempts += 1
        status, code = ERRORS[(rule.service, rule.fault)]
        body = json.dumps({"__type": _PREFIX[rule.service] + code, "message": f"{code} (injected)"})
        # moto's own before-send handler may run too: send the attempt where it serves
        # nothing, so that, like a refused request, it changes nothing.
        request.url = "https://refused.invalid/"
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, MockRawResponse(body))


def _json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode()
    try:
        found = json.loads(body) if body else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


# --- predicates on a request's body ------------------------------------------------------


def key_of(body: dict[str, Any]) -> str:
    """The partition key a DynamoDB item call names (Key or Item), or ''."""
    for field in ("Key", "Item"):
        pk = (body.get(field) or {}).get("PK") or {}
        if "S" in pk:
            return pk["S"]
    return ""


def pk_starts(*prefixes: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: key_of(body).startswith(prefixes)


def transaction_touches(prefix: str) -> Callable[[dict[str, Any]], bool]:
    """A TransactWriteItems with an item whose partition key starts with `prefix`."""

    def where(body: dict[str, Any]) -> bool:
        for entry in body.get("TransactItems") or []:
            for action in entry.values():
                if key_of(action).startswith(prefix):
                    return True
        return False

    return where


def to_queue(name_part: str) -> Callable[[dict[str, Any]], bool]:
    """An SQS call on a queue whose URL contains `name_part` (a template logical id's
    physical name carries it)."""
    return lambda body: name_part in str(body.get("QueueUrl", ""))


def updating(text: str) -> Callable[[dict[str, Any]], bool]:
    """An UpdateItem whose update expression contains `text` (e.g. the sender's claim sets
    `SubmitState = :claimed`, its outcome `SubmitState = :state`)."""
    return lambda body: text in str(body.get("UpdateExpression", ""))


def both(*predicates: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda body: all(p(body) for p in predicates)


def first_calls(
    keys: Iterable[str],
    per_key: int = 1,
    also: Callable[[dict[str, Any]], bool] = lambda body: True,
    key: Callable[[dict[str, Any]], str] = key_of,
) -> Callable[[dict[str, Any]], bool]:
    """The first `per_key` calls (for which `also` holds) naming each of these keys (by
    default the item's partition key); the calls after them go through, as throttling
    passes. The rule calls it under its lock."""
    left = Counter(dict.fromkeys(keys, per_key))

    def where(body: dict[str, Any]) -> bool:
        named = key(body)
        if left[named] > 0 and also(body):
            left[named] -= 1
            return True
        return False

    return where


def drawn(rng: random.Random, probability: float) -> Callable[[dict[str, Any]], bool]:
    """A call at random, with this probability (the rule calls it under its lock)."""
    return lambda body: rng.random() < probability


def job_sid(body: dict[str, Any]) -> str:
    """The MessageSid a SendQueue job names (a SendMessage's body), or ''."""
    try:
        return str(json.loads(body.get("MessageBody") or "{}").get("MessageSid", ""))
    except (ValueError, AttributeError):
        return ""


@pytest.fixture
def aws_faults(aws_session, monkeypatch) -> Iterator[AwsFaults]:
    """Installed before any product client exists in the test (list it first)."""
    import boto3
    import botocore.session
    from botocore.retries import standard

    faults = AwsFaults()
    create = botocore.session.Session.__init__

    def init(session: Any, *args: Any, **kwargs: Any) -> None:
        create(session, *args, **kwargs)
        faults.register(session)

    monkeypatch.setattr(botocore.session.Session, "__init__", init)
    default = boto3._get_default_session()._session
    faults.register(default)
    delay = standard.ExponentialBackoff.delay_amount
    monkeypatch.setattr(
        standard.ExponentialBackoff, "delay_amount", lambda self, ctx: delay(self, ctx) / 100
    )
    yield faults
    faults.stop()
    faults.unregister(default)
