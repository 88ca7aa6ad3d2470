"""The carrier simulator's delivery receipts, sent on a timer thread.

For every submission that named a StatusCallback, the simulator sends a `sent` receipt at
once and the final status after the outcome's delay: delivered after 0.2 s unless
`POST /_sim/outcomes` set another status, delay or error code for the recipient. What each
receipt says is the carrier's wire format: Twilio's status callbacks
(`twilio_wire.receipt_forms`, a form POST signed with `X-Twilio-Signature` when sent),
Vonage's DLRs (`vonage_wire.receipt_forms`, by GET, signed with `sig` when sent), End User
Messaging's SMS events (`eum_wire.receipt_events`) published on the events topic, i.e.
POSTed as signed SNS notifications to its confirmed subscriptions; an End User Messaging
submission's StatusCallback is that topic (None when the request named no configuration
set: then no events, as in AWS).
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
from smsgw_tools.simulators import twilio_wire
from smsgw_tools.simulators.eum_wire import receipt_events
from smsgw_tools.simulators.vonage_wire import receipt_forms as vonage_receipts
from smsgw_tools.simulators.vonage_wire import signed_callback

log = logging.getLogger(__name__)

FINAL_STATUSES = ("delivered", "undelivered", "failed")
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
        receipts: list[tuple[float, dict[str, Any]]]
        if self._carrier == "vonage":
            receipts = vonage_receipts(self._vonage, submission, outcome)
        elif self._carrier == "eum":
            receipts = receipt_events(submission, outcome)
        else:
            receipts = twilio_wire.receipt_forms(self._account_sid, submission, outcome)
        now = time.monotonic()
        for delay, form in receipts:
            self._schedule(now + delay, url, form)

    def sent(self) -> list[dict[str, Any]]:
        with self._wake:
            return [dict(r) for r in self._sent]

    def reset(self) -> None:
        with self._wake:
            self._sent.clear()

    def stop(self) -> None:
        """Stop sending. A receipt in flight is not waited for beyond a moment: its POST
        may be stuck resolving a host that does not resolve here (an in-process stack's
        function URL), and the thread ends after it by itself (a daemon, like a carrier's
        sender that outlives the customer's stack)."""
        with self._wake:
            self._wake.notify_all()
        self._thread.join(timeout=0.2)
        self._session.close()

    def _schedule(self, when: float, url: str, form: dict[str, Any]) -> None:
        with self._wake:
            heapq.heappush(self._queue, (when, next(self._counter), url, form))
            self._wake.notify()

    def _run(self) -> None:
        # Waits until the next receipt is due or one is scheduled: idle, it does not wake
        # (a simulator per carrier would otherwise each poll ten times a second). `stop`
        # notifies under the lock, after the simulator set `stopping`.
        while True:
            with self._wake:
                if self._stopping.is_set():
                    return
                if not self._queue:
                    self._wake.wait()
                    continue
                when, _, url, form = self._queue[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
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
