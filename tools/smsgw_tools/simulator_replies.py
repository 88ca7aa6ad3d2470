"""The carrier simulator's inbound messages (replies), in Twilio's wire format.

`POST /_sim/replies {"from": "+61488023555", "to": "+61400000001", "body": "YES"}` makes the
simulator do what Twilio does when a handset texts one of its numbers: POST a form-encoded
incoming-message webhook (MessageSid, AccountSid, From, To, Body, NumMedia, NumSegments,
...) to the number's messaging URL, signed with `X-Twilio-Signature` over that URL and the
form (`smsgw.carriers.twilio.signature`). The URL is the gateway's Responses endpoint
(`{PublicBaseUrl}/v1/Carriers/twilio/Responses`), set by the local stack as `url`.
`GET /_sim/replies` lists what was sent and how the gateway answered.

In Vonage mode the reply is Vonage's inbound message instead: a JSON POST of `msisdn`,
`to` (numbers without "+"), `messageId`, `text`, `type`, `keyword`, `message-timestamp`,
signed with `sig` (`smsgw_tools.simulator_formats.signed_callback`).

In End User Messaging mode the reply is the two-way channel's JSON
(`simulator_eum.two_way_message`: originationNumber, destinationNumber, messageBody,
inboundMessageId, ...) published on the replies topic: a signed SNS notification POSTed to
the topic's confirmed subscription (the gateway's Responses URL, subscribed by the local
stack), or to `url` when the control request names one.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from typing import Any

import requests

from smsgw.carriers.twilio import SIGNATURE_HEADER, signature
from smsgw.ids import MESSAGE_PREFIX, new_sid
from smsgw.kernel.text import analyse
from smsgw_tools.simulator_eum import PreviousMessage, two_way_message
from smsgw_tools.simulator_formats import signed_callback

_E164 = re.compile(r"\+[1-9]\d{1,14}")


def inbound_form(account_sid: str, sender: str, to: str, body: str) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS (the location fields left empty)."""
    sid = new_sid(MESSAGE_PREFIX)
    return {
        "ToCountry": "",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "",
        "To": to,
        "ToZip": "",
        "NumSegments": str(analyse(body).segments if body else 1),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def vonage_inbound(credentials: Any, sender: str, to: str, body: str) -> dict[str, str]:
    """The signed JSON Vonage posts for an inbound SMS."""
    params = {
        "msisdn": sender.lstrip("+"),
        "to": to.lstrip("+"),
        "messageId": secrets.token_hex(8).upper(),
        "text": body,
        "type": "unicode" if analyse(body).encoding != "GSM-7" else "text",
        "keyword": (body.split() or [""])[0].upper(),
        "api-key": credentials.api_key,
        "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    return signed_callback(params, credentials.signature_secret, credentials.signature_method)


class ReplySender:
    """Posts signed inbound messages to the gateway's Responses URL, one at a time."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        url: str | None = None,
        *,
        carrier: str = "twilio",
        vonage: Any = None,
        sns: Any = None,
        previous: PreviousMessage | None = None,
    ) -> None:
        """`sns` and `previous` are End User Messaging's: the SNS that carries replies,
        and the id of the message a reply answers."""
        self.carrier = carrier
        self.vonage = vonage
        self.sns = sns
        self.previous = previous
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = url
        self._lock = threading.Lock()
        self._sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Deliver one reply now; the control endpoint's answer."""
        sender, to, body = payload.get("from"), payload.get("to"), payload.get("body", "")
        for name, value in (("from", sender), ("to", to)):
            if not isinstance(value, str) or not _E164.fullmatch(value):
                raise ValueError(f"{name} must be an E.164 number")
        if not isinstance(body, str):
            raise ValueError("body must be a string")
        if self.carrier == "eum":
            return self._publish(sender, to, body, payload.get("url"))
        url = payload.get("url") or self.url
        if not url:
            raise ValueError("no Responses URL: the simulator was not told where to post replies")
        if self.carrier == "vonage":
            form = vonage_inbound(self.vonage, sender, to, body)
            record: dict[str, Any] = {"url": url, "form": form}
            post: dict[str, Any] = {"json": form}
        else:
            form = inbound_form(self.account_sid, sender, to, body)
            headers = {SIGNATURE_HEADER: signature(self.auth_token, url, form.items())}
            record = {"url": url, "form": form}
            post = {"data": form, "headers": headers}
        try:
            response = requests.post(url, timeout=10, **post)
            record["status"] = response.status_code
        except requests.RequestException as exc:
            record["error"] = str(exc)
        with self._lock:
            self._sent.append(record)
        return 200, record

    def _publish(
        self, sender: str, to: str, body: str, url: str | None
    ) -> tuple[int, dict[str, Any]]:
        """End User Messaging's reply, published on the replies topic through SNS."""
        previous = self.previous(sender, to) if self.previous else None
        message = two_way_message(sender, to, body, previous)
        topic = self.sns.account.replies_topic
        deliveries = self.sns.publish(topic, json.dumps(message), url)
        if not deliveries:
            raise ValueError(f"no confirmed subscription to {topic}: nowhere to deliver")
        record: dict[str, Any] = {"url": deliveries[0]["url"], "topic": topic, "form": message}
        record |= {k: deliveries[0][k] for k in ("status", "error") if k in deliveries[0]}
        with self._lock:
            self._sent.append(record)
        return 200, record

    def sent(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._sent]

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()
