"""The demo's failover: a route of two carriers, the first one's simulator answering 5xx, the
message delivered by the second, one submission in all (docs/carriers.md, "Seeing failover
locally").

`set_failover_route` must run before the stack's first send: a warm sender reads the routes
at most once a minute, so a route set after a send is seen only a minute later.
"""

from __future__ import annotations

import json
import time
from typing import Any

FAILOVER_PREFIX = "+61"
FAILOVER_SMS = {
    "From": "+61499009990",
    "To": "+61488023556",
    "Text": "Failover: the first carrier is down.",
}
TIMEOUT_SECONDS = 30.0


class FailoverError(Exception):
    """The failover could not be shown; the message says which step failed."""


def failover_carriers(info: dict[str, Any]) -> tuple[str, str] | None:
    """The stack's carrier and another it simulates (None when it simulates one only)."""
    carrier = info.get("Carrier")
    others = [name for name in info.get("Simulators", {}) if name != carrier]
    return (carrier, others[0]) if carrier and others else None


def set_failover_route(info: dict[str, Any], session: Any) -> tuple[str, str] | None:
    """Route `FAILOVER_PREFIX` to the stack's carrier, then another it simulates; the route's
    carriers (None, and no route, when the stack simulates one carrier)."""
    from smsgw_tools.admin.operations import Admin

    carriers = failover_carriers(info)
    if carriers is not None:
        admin = Admin(info["TableName"], session=session, endpoint_url=info["AwsEndpointUrl"])
        admin.set_route(FAILOVER_PREFIX, list(carriers), info["CarrierSecretName"])
    return carriers


def show_failover(info: dict[str, Any], auth: tuple[str, str]) -> list[str]:
    """Send one message on the failover route with its first carrier answering 5xx; the
    lines that show it delivered by the second, each carrier's count included. Raises
    FailoverError when it is not delivered, or not exactly once."""
    import requests

    first, second = failover_carriers(info) or ("", "")
    if not second:
        raise FailoverError("the stack simulates one carrier: nothing to fail over to")
    simulators = info["Simulators"]
    url = f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"
    fault = {"mode": "5xx", "count": 1, "to": FAILOVER_SMS["To"]}
    requests.post(f"{simulators[first]}/_sim/faults", json=fault, timeout=10).raise_for_status()
    before = {name: _counts(simulators[name]) for name in (first, second)}
    lines = [
        f"Route {FAILOVER_PREFIX} -> {first}, {second}; the {first} simulator answers 5xx.",
        f"POST {url}  {json.dumps(FAILOVER_SMS)}",
    ]
    with requests.Session() as http:
        http.auth = auth
        response = http.post(url, json=FAILOVER_SMS, timeout=30)
        if response.status_code != 200:
            raise FailoverError(f"POST answered {response.status_code}: {response.text}")
        message = _delivered(http, f"{url}/{response.json()['Message']['MessageSid']}")
    lines += [f"  {line}" for line in attempts(message)]
    after = {name: _counts(simulators[name]) for name in (first, second)}
    asked = {
        name: [a - b for a, b in zip(after[name], before[name], strict=True)] for name in after
    }
    lines.append(
        "; ".join(
            f"{name} took {took}, refused {refused}" for name, (took, refused) in asked.items()
        )
        + f": {sum(took for took, _ in asked.values())} submission in all."
    )
    if [asked[first], asked[second]] != [[0, 1], [1, 0]]:
        raise FailoverError(f"expected {second} alone to take it once: {' / '.join(lines)}")
    return lines


def attempts(message: dict[str, Any]) -> list[str]:
    """A message's Events as short lines: time, status, and the carrier each names."""
    lines = []
    for event in message.get("Events", []):
        carrier = event.get("Carrier")
        if event["Status"] == "sending" and carrier:
            note = f"{carrier} did not take it; on to the next carrier of the route"
        elif event.get("Source") == "receipt":
            note = f"receipt: {event.get('CarrierStatus')}"
        else:
            note = f"by {carrier}" if carrier else ""
        lines.append(f"{event['Timestamp']}  {event['Status']:<9}  {note}".rstrip())
    return lines


def _counts(simulator_url: str) -> tuple[int, int]:
    """(submissions taken, submissions refused by a fault) at one simulator."""
    import requests

    answer = requests.get(f"{simulator_url}/_sim/messages", timeout=10).json()
    return len(answer["messages"]), len(answer.get("refused", []))


def _delivered(http: Any, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    status = None
    while time.monotonic() < deadline:
        message = http.get(url, timeout=10).json()["Message"]
        status = message["Status"]
        if status == "delivered":
            return message
        if status in ("failed", "undelivered"):
            raise FailoverError(f"the message ended in status {status}")
        time.sleep(0.2)
    raise FailoverError(f"the message was not delivered in time (last status {status})")
