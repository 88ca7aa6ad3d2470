"""`smsgw local demo` (`make demo`): one SMS through the local stack's public API, followed
to the carrier and back, a scheduled send, a reply forwarded, and one failover."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smsgw_tools.local.demo_failover import FailoverError, set_failover_route, show_failover
from smsgw_tools.local.demo_life import show_smart_encoding
from smsgw_tools.local.info import DEMO_LOG_FILE

# requests is imported by the functions that use it: `smsgw --help` starts without it.
if TYPE_CHECKING:
    import requests

DEMO_SMS = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}
DEMO_TIMEOUT_SECONDS = 30.0


def demo_command(args: argparse.Namespace) -> int:
    """Send one SMS through the public API and follow it until the carrier has it."""
    from smsgw_tools.local.stack import LocalStack

    DEMO_LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with DEMO_LOG_FILE.open("w") as log:
        print(f"Starting the local stack (function logs: {log.name}) ...")
        try:
            with LocalStack(port=args.port, log=log) as stack:
                stack.provision_demo()
                return run_demo(stack.info(), stack.session, failover=True)
        except (DemoError, FailoverError) as exc:
            print(f"demo failed: {exc}\nfunction logs: {log.name}", file=sys.stderr)
            return 1


class DemoError(Exception):
    """The demo could not complete; the message says which step failed."""


def run_demo(info: dict[str, Any], session: Any, *, failover: bool = False) -> int:
    """The demo's steps against a running stack whose demo tenant is provisioned (`info`),
    each printed; a `DemoError` names the step that did not complete. With `failover`, on
    a stack that has sent nothing yet, it routes +61 to two carriers first and ends with
    one failover between them (`demo_failover`)."""
    import requests

    carriers = set_failover_route(info, session) if failover else None
    api, auth = info["ApiUrl"], (info["AccountSid"], info["AuthToken"])
    url = f"{api}/Properties/{info['PropertySid']}/Sms"
    with requests.Session() as http:
        http.auth = auth
        first = {
            **DEMO_SMS,
            "ExternalId": "demo-1",
            "DeliveryReceiptWebhookUri": f"{info['WebhookSinkUrl']}/receipts",
        }
        print(f"\nPOST {url}\n{json.dumps(first, indent=2)}")
        response = http.post(url, json=first, timeout=30)
        print(f"-> {response.status_code}\n{_pretty(response)}")
        if response.status_code != 200:
            raise DemoError(f"POST answered {response.status_code}")
        message_sid = response.json()["Message"]["MessageSid"]
        answer = _wait_until_sent(http, f"{url}/{message_sid}")
    print(f"\nGET {url}/{message_sid}\n-> 200\n{json.dumps(answer, indent=2)}")
    print("\nStatus timeline:")
    for line in timeline(answer["Message"]):
        print(f"  {line}")
    received = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
    print(f"\nThe carrier simulator received:\n{json.dumps(received, indent=2)}")
    _show_receipt_callbacks(info, session, message_sid)
    _show_scheduled_send(info, url, auth)
    show_smart_encoding(url, auth, DEMO_SMS)
    _show_reply_forwarded(info, url, auth)
    if carriers is not None:
        print("\nFailover:")
        print("\n".join(show_failover(info, auth)))
    return 0


def _show_reply_forwarded(info: dict[str, Any], url: str, auth: tuple[str, str]) -> None:
    """A send from a leased number, the recipient's reply, and the reply forwarded by SMS
    and to the customer's webhook."""
    import requests

    forward_to = "+61499333222"
    body = {
        "From": "",
        "To": DEMO_SMS["To"],
        "Text": "Reply YES to confirm your booking.",
        "ForwardToSms": forward_to,
        "WebhookUri": f"{info['WebhookSinkUrl']}/replies",
    }
    with requests.Session() as http:
        http.auth = auth
        print(f"\nPOST {url}   (blank From: a leased number)\n{json.dumps(body, indent=2)}")
        response = http.post(url, json=body, timeout=30)
        if response.status_code != 200:
            raise DemoError(f"leased POST answered {response.status_code}: {response.text}")
        leased = response.json()["Message"]
        print(
            f"-> {response.status_code}  From={leased['From']}  "
            f"Lease={json.dumps(leased.get('Lease'))}"
        )
        _wait_until_sent(http, f"{url}/{leased['MessageSid']}")

        reply = {"from": DEMO_SMS["To"], "to": leased["From"], "body": "YES"}
        print(f"\nThe recipient replies (simulator): {json.dumps(reply)}")
        requests.post(f"{info['SimulatorUrl']}/_sim/replies", json=reply, timeout=15)
        deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
        forwarded: list[dict[str, Any]] = []
        hooks: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not (forwarded and hooks):
            time.sleep(0.25)
            messages = requests.get(f"{info['SimulatorUrl']}/_sim/messages", timeout=10).json()
            forwarded = [m for m in messages["messages"] if m["To"] == forward_to]
            sink = requests.get(f"{info['WebhookSinkUrl']}/_sink/requests", timeout=10).json()
            hooks = [r for r in sink["requests"] if r["path"].startswith("/replies")]
        if not (forwarded and hooks):
            raise DemoError("the reply was not forwarded by SMS and webhook in time")
        replies = http.get(f"{url}/{leased['MessageSid']}/Responses", timeout=10)
    print(
        f"GET {url}/{leased['MessageSid']}/Responses\n-> {replies.status_code}\n{_pretty(replies)}"
    )
    print(
        f"Forwarded by SMS: {forwarded[0]['From']} -> {forwarded[0]['To']}: "
        f"{json.dumps(forwarded[0]['Body'])}"
    )
    print(f"Forwarded to the webhook: {hooks[0]['method']} {hooks[0]['path']}")


def _show_receipt_callbacks(info: dict[str, Any], session: Any, message_sid: str) -> None:
    """The signed delivery-receipt callbacks the local webhook sink received, verified with
    the property's webhook secret as a customer would."""
    import requests

    from smsgw.kernel.webhook_signing import verify
    from smsgw_tools.admin.operations import Admin

    admin = Admin(info["TableName"], session=session, endpoint_url=info["AwsEndpointUrl"])
    secret = admin.webhook_secret(info["PropertySid"])["WebhookSecret"]
    deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
    callbacks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        received = requests.get(f"{info['WebhookSinkUrl']}/_sink/requests", timeout=10).json()
        callbacks = [r for r in received["requests"] if message_sid in (r.get("body") or "")]
        if any('"IsFinal":true' in r["body"].replace(" ", "") for r in callbacks):
            break
        time.sleep(0.25)
    else:
        raise DemoError("the delivery-receipt callback did not reach the webhook sink")
    print(f"\nThe webhook sink ({info['WebhookSinkUrl']}) received the receipt callbacks:")
    for request in callbacks:
        body = json.loads(request["body"])
        valid = verify(secret, request["headers"], request["body"], time.time())
        print(
            f"  {request['method']} {request['path']}  Status={body['Status']}  "
            f"IsFinal={json.dumps(body['IsFinal'])}  "
            f"webhook-id={request['headers'].get('webhook-id')}  "
            f"signature {'verified' if valid else 'INVALID'}"
        )
        if not valid:
            raise DemoError("a receipt callback's signature did not verify")


def _show_scheduled_send(info: dict[str, Any], url: str, auth: tuple[str, str]) -> None:
    import requests

    due = int(time.time()) + 3
    body = {**DEMO_SMS, "Text": "Scheduled: see you in 3 seconds.", "Schedule": due}
    with requests.Session() as http:
        http.auth = auth
        print(f"\nPOST {url}\n{json.dumps(body, indent=2)}")
        response = http.post(url, json=body, timeout=30)
        if response.status_code != 200:
            raise DemoError(f"scheduled POST answered {response.status_code}: {response.text}")
        scheduled = response.json()["Message"]
        print(f"-> {response.status_code}  Status={scheduled['Status']}")
        message = _wait_until_sent(http, f"{url}/{scheduled['MessageSid']}")["Message"]
    sent_at = next(e["Timestamp"] for e in message["Events"] if e["Status"] == "sent")
    lag = datetime.fromisoformat(sent_at.replace("Z", "+00:00")).timestamp() - due
    print(f"  due {datetime.fromtimestamp(due, UTC).isoformat()}, sent {sent_at} ({lag:+.2f} s)")
    for line in timeline(message):
        print(f"  {line}")


def _wait_until_sent(http: requests.Session, url: str) -> dict[str, Any]:
    """The message's GET answer (`{"Message": ...}`) once it is delivered."""
    from smsgw.models.message import FINAL_STATUSES

    deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
    status = None
    while time.monotonic() < deadline:
        response = http.get(url, timeout=10)
        if response.status_code == 200:
            status = response.json()["Message"].get("Status")
            # The simulator's receipts follow the submission: wait for the final status.
            if status == "delivered":
                return response.json()
            if status in FINAL_STATUSES:
                raise DemoError(f"the message ended in status {status}")
        time.sleep(0.25)
    raise DemoError(
        f"the message was not sent within {DEMO_TIMEOUT_SECONDS:.0f}s (last status {status})"
    )


def timeline(message: dict[str, Any]) -> list[str]:
    """A message's Events as aligned lines: time, status, and what a carrier receipt did."""
    events = message.get("Events", [])
    width = max((len(event["Status"]) for event in events), default=0)
    lines = []
    for event in events:
        note = receipt_note(event) if event.get("Source") == "receipt" else ""
        lines.append(f"{event['Timestamp']}  {event['Status']:<{width}}  {note}".rstrip())
    return lines


def receipt_note(event: dict[str, Any]) -> str:
    """What a carrier receipt in a message's Events did, by its `ReceiptResult`: APPLIED moved
    the status; RECORDED only appended it, a duplicate of the status the message already had
    (Twilio's routine `sent` after the sender's own) or a late one. IGNORED and UNMATCHED
    receipts are not in a message's Events."""
    from smsgw.carriers.twilio import STATUS_MAP
    from smsgw.logic.receipts import ReceiptResult

    carrier_status = event.get("CarrierStatus")
    result = ReceiptResult.APPLIED if event.get("Applied", True) else ReceiptResult.RECORDED
    if result is ReceiptResult.APPLIED:
        return f"carrier receipt {carrier_status}"
    # The demo's stack speaks Twilio (LocalStack's default carrier).
    receipt_status = STATUS_MAP.get(str(carrier_status).lower())
    if receipt_status == event["Status"]:
        return f"carrier receipt {carrier_status}: already {receipt_status}, recorded only"
    if receipt_status:
        return f"carrier receipt {carrier_status}, late: already {event['Status']}, recorded only"
    return f"carrier receipt {carrier_status}: recorded only"


def _pretty(response: requests.Response) -> str:
    try:
        return json.dumps(response.json(), indent=2)
    except ValueError:
        return response.text
