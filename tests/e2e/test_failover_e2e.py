"""Failover over the wire: a local stack simulating Twilio and Vonage, +61 routed to twilio
then vonage (set before its first send, as `make demo` does), each message followed through
the public API and counted at both simulators (docs/carriers.md, "Seeing failover locally").

The stack is this module's own: its breakers judge the last 3 submissions (2 failures open
one) and cool down in 1 s, and its functions give a carrier 1 s to answer (the template's
10 s would make the timeout case a ten-second test)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from smsgw_tools.local.demo_failover import set_failover_route, show_failover
from smsgw_tools.local.stack import LocalStack
from smsgw_tools.template.loading import load

pytestmark = pytest.mark.e2e

FROM = "+61499009990"
CARRIER_TIMEOUT_SECONDS = 1
BREAKER_SUBMISSIONS = 3
OPENING_FAILURES = BREAKER_SUBMISSIONS // 2 + 1
"""Most of the last N: the failures in a row that open a breaker."""
BREAKER_COOLDOWN_SECONDS = 1


def _breaker_parameters() -> dict[str, str]:
    """The template's parameters for a breaker's N and its cool-down."""
    assert {"CarrierBreakerSubmissions", "CarrierBreakerCooldownSeconds"} <= set(
        load().parameter_defaults()
    )
    return {
        "CarrierBreakerSubmissions": str(BREAKER_SUBMISSIONS),
        "CarrierBreakerCooldownSeconds": str(BREAKER_COOLDOWN_SECONDS),
    }


@pytest.fixture(scope="module")
def failover_stack(aws_calls_file: Path) -> Iterator[LocalStack]:
    with LocalStack(
        port=0,
        calls_file=aws_calls_file,
        parameters=_breaker_parameters(),
        environment={"CARRIER_TIMEOUT_SECONDS": str(CARRIER_TIMEOUT_SECONDS)},
    ) as stack:
        stack.provision_demo()
        assert set_failover_route(stack.info(), stack.session) == ("twilio", "vonage")
        yield stack


@pytest.fixture
def stack(failover_stack: LocalStack) -> LocalStack:
    """The module's stack with both simulators reset and every breaker closed."""
    for url in failover_stack.info()["Simulators"].values():
        requests.post(f"{url}/_sim/reset", timeout=10).raise_for_status()
    table = _table(failover_stack)
    breakers = table.query(
        KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": "BREAKER"}
    )["Items"]
    for item in breakers:
        table.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    return failover_stack


def _table(stack: LocalStack) -> Any:
    info = stack.info()
    dynamodb = stack.session.resource("dynamodb", endpoint_url=info["AwsEndpointUrl"])
    return dynamodb.Table(info["TableName"])


def _sms_url(info: dict[str, Any]) -> str:
    return f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"


def _send(stack: LocalStack, to: str, text: str = "Failover e2e") -> str:
    info = stack.info()
    sent = requests.post(
        _sms_url(info),
        json={"From": FROM, "To": to, "Text": text},
        auth=(info["AccountSid"], info["AuthToken"]),
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    return sent.json()["Message"]["MessageSid"]


def _message(stack: LocalStack, sid: str) -> dict[str, Any]:
    info = stack.info()
    auth = (info["AccountSid"], info["AuthToken"])
    return requests.get(f"{_sms_url(info)}/{sid}", auth=auth, timeout=10).json()["Message"]


def _final(stack: LocalStack, sid: str, seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        message = _message(stack, sid)
        if message["Status"] in ("delivered", "undelivered", "failed"):
            return message
        assert time.monotonic() < deadline, json.dumps(message["Events"])
        time.sleep(0.1)


def _counts(stack: LocalStack) -> dict[str, tuple[int, int]]:
    """Per carrier: (submissions its simulator took, submissions a fault refused)."""
    counts = {}
    for carrier, url in stack.info()["Simulators"].items():
        answer = requests.get(f"{url}/_sim/messages", timeout=10).json()
        counts[carrier] = (len(answer["messages"]), len(answer["refused"]))
    return counts


def _fault(stack: LocalStack, carrier: str, **fault: Any) -> None:
    url = stack.info()["Simulators"][carrier]
    requests.post(f"{url}/_sim/faults", json=fault, timeout=10).raise_for_status()


def _carriers_of(message: dict[str, Any], status: str) -> list[str]:
    return [e["Carrier"] for e in message["Events"] if e["Status"] == status and "Carrier" in e]


@pytest.mark.parametrize("down", ["5xx", "refusing connections"])
def test_messages_the_first_carrier_does_not_take_are_delivered_by_the_second_once_each(
    stack, down
):
    # Given +61 → twilio, vonage, and twilio answering 5xx, or not listening at all
    twilio = stack.simulators["twilio"]
    if down == "5xx":
        _fault(stack, "twilio", mode="5xx")
    else:
        twilio.stop()
    try:
        # When two messages are sent
        sids = [_send(stack, f"+6148802360{n}") for n in range(2)]
        messages = [_final(stack, sid) for sid in sids]
    finally:
        twilio.start()

    # Then each is delivered by vonage, twilio's refusal on its Events
    assert [m["Status"] for m in messages] == ["delivered", "delivered"]
    for message in messages:
        assert _carriers_of(message, "sending") == ["twilio"], message["Events"]
        assert _carriers_of(message, "sent") in (["vonage"], []), message["Events"]
    # and each was submitted once in all, counted at both simulators
    refused_at_twilio = 2 if down == "5xx" else 0
    assert _counts(stack) == {"twilio": (0, refused_at_twilio), "vonage": (2, 0)}


def test_a_timeout_after_the_request_was_read_never_fails_over_nor_sends_twice(stack):
    # Given twilio reading the request and answering only after the sender gave up on it
    hold = CARRIER_TIMEOUT_SECONDS + 1
    _fault(stack, "twilio", mode="timeout", count=1, timeout_seconds=hold)
    sid = _send(stack, "+61488023610")

    # When the sender's read times out, and its job is delivered again (as SQS may)
    deadline = time.monotonic() + 10
    while (item := _item(stack, sid)).get("SubmitState") != "unknown":
        assert time.monotonic() < deadline, item
        time.sleep(0.1)
    info = stack.info()
    sqs = stack.session.client("sqs", endpoint_url=info["AwsEndpointUrl"])
    sqs.send_message(
        QueueUrl=info["QueueUrls"]["SendQueue"], MessageBody=json.dumps({"MessageSid": sid})
    )

    # Then the message waited at twilio, unknown: vonage was never asked
    assert (item["Status"], item["Carrier"]) == ("sending", "twilio")
    # and twilio's answer, once it came, and its receipts settle it there, sent once in all
    message = _final(stack, sid, seconds=hold + 10)
    assert message["Status"] == "delivered"
    assert _carriers_of(message, "sending") == ["twilio"], message["Events"]
    assert "vonage" not in json.dumps(message["Events"])
    assert _counts(stack) == {"twilio": (1, 0), "vonage": (0, 0)}
    [held] = requests.get(f"{info['Simulators']['twilio']}/_sim/messages", timeout=10).json()[
        "messages"
    ]
    assert held["outcome"] == "unknown"


def _item(stack: LocalStack, sid: str) -> dict[str, Any]:
    return _table(stack).get_item(Key={"PK": f"MESSAGE#{sid}", "SK": "MESSAGE"}).get("Item", {})


def test_a_breaker_opens_on_a_failing_carrier_and_a_probe_closes_it(stack):
    # Given twilio answering 5xx to everything
    _fault(stack, "twilio", mode="5xx")

    # When messages are sent one after another
    asked, skipped = [], None
    for n in range(OPENING_FAILURES + 3):
        before = _counts(stack)["twilio"][1]
        message = _final(stack, _send(stack, f"+6148802362{n}"))
        assert message["Status"] == "delivered"
        if _counts(stack)["twilio"][1] == before:
            skipped = message
            break
        asked.append(message)

    # Then after most of its last N failed twilio is no longer asked: the message says so
    assert skipped is not None and len(asked) == OPENING_FAILURES, _counts(stack)
    assert any(
        e.get("Carrier") == "twilio" and "not asked" in e.get("Detail", "")
        for e in skipped["Events"]
    ), skipped["Events"]

    # When twilio is back and the cool-down is over
    _fault(stack, "twilio", mode="none")
    time.sleep(BREAKER_COOLDOWN_SECONDS + 1.1)  # whole seconds, rounded up
    probe = _final(stack, _send(stack, "+61488023630"))
    after = _final(stack, _send(stack, "+61488023631"))

    # Then a probe went to twilio and closed it: the next message goes there too
    assert [probe["Status"], after["Status"]] == ["delivered", "delivered"]
    # one submission per message in all, counted at both simulators
    assert _counts(stack) == {
        "twilio": (2, OPENING_FAILURES),
        "vonage": (OPENING_FAILURES + 1, 0),
    }


def test_a_refusal_of_the_message_itself_fails_it_without_failover(stack):
    # Given twilio refusing the message for its recipient (opted out at the carrier)
    _fault(stack, "twilio", mode="opted-out", count=1)

    # When it is sent
    message = _final(stack, _send(stack, "+61488023640"))

    # Then it failed with twilio's code, and vonage never saw it
    assert message["Status"] == "failed", message
    assert "21610" in json.dumps(message["Events"]), message["Events"]
    assert _counts(stack) == {"twilio": (0, 1), "vonage": (0, 0)}


def test_the_demos_failover_shows_one_submission_in_all(stack):
    # When the demo's failover step runs against the stack
    info = stack.info()
    lines = show_failover(info, (info["AccountSid"], info["AuthToken"]))

    # Then a few lines show the route, the first carrier refusing and the second taking it
    assert lines[0] == "Route +61 -> twilio, vonage; the twilio simulator answers 5xx."
    assert any("twilio did not take it" in line for line in lines), lines
    assert lines[-1] == "twilio took 0, refused 1; vonage took 1, refused 0: 1 submission in all."
    assert len(lines) <= 10 and not [line for line in lines if "{'" in line or "Traceback" in line]
