"""The carrier simulator's delivery receipts, in Twilio's or Vonage's wire format.

For every submission that named a StatusCallback, the simulator sends a `sent` receipt at
once and the final status after the outcome's delay: delivered after 0.2 s unless
`POST /_sim/outcomes` set another status, delay or error code for the recipient.
Twilio: a form POST signed with `X-Twilio-Signature` (`smsgw.carriers.twilio.signature`).
Vonage: a DLR by GET, its query parameters signed with `sig`
(`smsgw.carriers.vonage.signature`); `accepted` for sent, `failed` for undelivered and
`rejected` for failed, our MessageSid in `client-ref`, one for each part's id.
End User Messaging: SMS events (`simulator_eum.sms_event`: `TEXT_SUCCESSFUL` for sent,
then `TEXT_DELIVERED`, `TEXT_CARRIER_UNREACHABLE` or `TEXT_INVALID`, the request's Context
in `context`) published on the events topic, i.e. POSTed as signed SNS notifications to its
confirmed subscriptions; a submission's StatusCallback is that topic (None when the request
named no configuration set: then no events, as in AWS). The outcome's error code is not
used: these events have none.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from smsgw.carriers.twilio import SIGNATURE_HEADER, signature
from smsgw_tools.simulator_eum import sms_event
from smsgw_tools.simulator_formats import signed_callback

log = logging.getLogger(__name__)

FINAL_STATUSES = ("delivered", "undelivered", "failed")
VONAGE_STATUS = {
    "sent": "accepted",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "rejected",
}
DEFAULT_OUTCOME: dict[str, Any] = {"status": "delivered", "delay": 0.2, "error_code": None}


def validated_outcome(payload: dict[str, Any]) -> dict[str, Any]:
    """A `/_sim/outcomes` body, checked: to, status, delay (s), error_code."""
    to = payload.get("to")
    if to is not None and not isinstance(to, str):
        raise ValueError("to must be a phone number or null (every recipient)")
    status = payload.get("status", "delivered")
    if status not in FINAL_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FINAL_STATUSES)}")
    delay = payload.get("delay", DEFAULT_OUTCOME["delay"])
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise ValueError("delay must be a non-negative number of seconds")
    error_code = payload.get("error_code")
    if error_code is not None and (isinstance(error_code, bool) or not isinstance(error_code, int)):
        raise ValueError("error_code must be an integer or null")
    return {"to": to, "status": status, "delay": float(delay), "error_code": error_code}


class ReceiptSender:
    """Sends the receipts of each submission on a timer thread (one for all)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        outcome_for: Callable[[str], dict[str, Any]],
        stopping: threading.Event,
        *,
        carrier: str = "twilio",
        vonage: Any = None,
        sns: Any = None,
    ) -> None:
        self._carrier = carrier
        self._vonage = vonage
        self._sns = sns
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._outcome_for = outcome_for
        self._stopping = stopping
        self._queue: list[tuple[float, int, str, dict[str, Any]]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._session = requests.Session()
        self._sent: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, name="sim-receipts", daemon=True)
        self._thread.start()

    def __call__(self, submission: dict[str, Any]) -> None:
        """The SimulatorState listener: schedule `sent`, then the final status."""
        url = submission.get("StatusCallback")
        if not url:
            return
        outcome = self._outcome_for(submission["To"])
        if self._carrier == "vonage":
            self._schedule_vonage(url, submission, outcome)
            return
        if self._carrier == "eum":
            self._schedule_eum(url, submission, outcome)
            return
        common = {
            "AccountSid": self._account_sid,
            "ApiVersion": "2010-04-01",
            "From": submission["From"],
            "To": submission["To"],
            "MessageSid": submission["sid"],
            "SmsSid": submission["sid"],
        }
        now = time.monotonic()
        self._schedule(now, url, {**common, "MessageStatus": "sent", "SmsStatus": "sent"})
        final = {**common, "MessageStatus": outcome["status"], "SmsStatus": outcome["status"]}
        if outcome["status"] != "delivered":
            final["ErrorCode"] = str(outcome.get("error_code") or 30003)
        self._schedule(now + outcome["delay"], url, final)

    def _schedule_vonage(
        self, url: str, submission: dict[str, Any], outcome: dict[str, Any]
    ) -> None:
        common = {
            "msisdn": submission["To"].lstrip("+"),
            "to": submission["From"].lstrip("+"),
            "network-code": "50501",
            "messageId": submission["sid"],
            "price": "0.03330000",
            "scts": time.strftime("%y%m%d%H%M", time.gmtime()),
            "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "api-key": self._vonage.api_key,
        }
        if submission.get("ClientRef"):
            common["client-ref"] = submission["ClientRef"]
        now = time.monotonic()
        # one DLR per part of a long message, each under its own message-id
        for message_id in submission.get("message_ids") or [submission["sid"]]:
            part = {**common, "messageId": message_id}
            self._schedule(now, url, {**part, "status": "accepted", "err-code": "0"})
            final = {**part, "status": VONAGE_STATUS[outcome["status"]], "err-code": "0"}
            if outcome["status"] != "delivered":
                final["err-code"] = str(outcome.get("error_code") or 1)
            self._schedule(now + outcome["delay"], url, final)

    def _schedule_eum(
        self, topic: str, submission: dict[str, Any], outcome: dict[str, Any]
    ) -> None:
        """Events are made when scheduled, each stamped with the time it will be sent."""
        now, wall = time.monotonic(), time.time()
        self._schedule(now, topic, sms_event(submission, "sent", wall))
        final = sms_event(submission, outcome["status"], wall + outcome["delay"])
        self._schedule(now + outcome["delay"], topic, final)

    def sent(self) -> list[dict[str, Any]]:
        with self._wake:
            return [dict(r) for r in self._sent]

    def reset(self) -> None:
        with self._wake:
            self._sent.clear()

    def stop(self) -> None:
        with self._wake:
            self._wake.notify_all()
        self._thread.join(timeout=2)
        self._session.close()

    def _schedule(self, when: float, url: str, form: dict[str, Any]) -> None:
        with self._wake:
            heapq.heappush(self._queue, (when, next(self._counter), url, form))
            self._wake.notify()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                if not self._queue:
                    self._wake.wait(0.1)
                    continue
                when, _, url, form = self._queue[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._wake.wait(min(wait, 0.1))
                    continue
                heapq.heappop(self._queue)
            self._post(url, form)

    def _post(self, url: str, form: dict[str, Any]) -> None:
        if self._carrier == "eum":
            self._publish(url, form)
            return
        record: dict[str, Any] = {"url": url, "form": form}
        try:
            if self._carrier == "vonage":
                # Signed when sent: Vonage's timestamp must be fresh.
                params = signed_callback(
                    form, self._vonage.signature_secret, self._vonage.signature_method
                )
                record["form"] = params
                response = self._session.get(url, params=params, timeout=10)
            else:
                headers = {SIGNATURE_HEADER: signature(self._auth_token, url, form.items())}
                response = self._session.post(url, data=form, headers=headers, timeout=10)
            record["status"] = response.status_code
        except requests.RequestException as exc:
            record["error"] = str(exc)
            log.debug("simulator: receipt to %s failed: %s", url, exc)
        with self._wake:
            self._sent.append(record)

    def _publish(self, topic: str, event: dict[str, Any]) -> None:
        """One End User Messaging event, published on its topic: one record per delivery
        (`url` the subscribed endpoint, `form` the event), or one with an `error` when
        the topic had no confirmed subscription (SNS then delivers to nobody)."""
        deliveries = self._sns.publish(topic, json.dumps(event))
        records = [
            {"url": d["url"], "topic": topic, "form": event}
            | {k: d[k] for k in ("status", "error") if k in d}
            for d in deliveries
        ] or [{"url": None, "topic": topic, "form": event, "error": "no confirmed subscription"}]
        with self._wake:
            self._sent.extend(records)
