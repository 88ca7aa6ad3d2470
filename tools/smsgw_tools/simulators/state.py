"""What the carrier simulator knows and decides, shared by all request threads, no HTTP.

`SimulatorState` holds the submissions the carrier took, the fault and latency to apply to
the next ones, the outcome (status, delay, error code) of each recipient's receipts, and
the senders of receipts and replies. It is called with every submission the simulator
took, once it has answered (`listeners`: the `receipt_sender.ReceiptSender` while it runs).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from smsgw_tools.simulators.eum_wire import EumAccount, EumWire
from smsgw_tools.simulators.receipt_sender import DEFAULT_OUTCOME, validated_outcome
from smsgw_tools.simulators.reply_sender import ReplySender
from smsgw_tools.simulators.sns import Sns
from smsgw_tools.simulators.twilio_wire import TwilioWire
from smsgw_tools.simulators.vonage_wire import DEFAULT_STATUS, VonageCredentials, VonageWire
from smsgw_tools.simulators.wire import Submission, Wire

DEFAULT_TIMEOUT_SECONDS = 15.0
FAULT_MODES = ("none", "status", "5xx", "429", "opted-out", "timeout", "drop")
CARRIERS = ("twilio", "vonage", "eum")
WIRES: dict[str, Wire] = {"twilio": TwilioWire(), "vonage": VonageWire()}
"""The wire of each carrier that needs no account of its own (End User Messaging's does)."""

ACCEPTED = "accepted"
UNKNOWN = "unknown"
"""Outcome of a submission the simulator received but never answered in time (or at all)."""


@dataclass(slots=True)
class Fault:
    """A fault applied to the next `remaining` submissions (None: until cleared)."""

    mode: str
    remaining: int | None = None
    to: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    status: int | None = None
    """The Vonage status code a `status` fault answers with."""

    def matches(self, to: str) -> bool:
        return self.mode != "none" and self.to in (None, to) and self.remaining != 0


class SimulatorState:
    """Submissions, faults and latency; shared by all request threads."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        timeout_seconds: float,
        carrier: str = "twilio",
        vonage: VonageCredentials | None = None,
        eum: EumAccount | None = None,
    ) -> None:
        if carrier not in CARRIERS:
            raise ValueError(f"carrier must be one of {', '.join(CARRIERS)}")
        self.carrier = carrier
        self.vonage = vonage or VonageCredentials()
        self.eum = eum or EumAccount()
        self.wire: Wire = EumWire(self.eum) if carrier == "eum" else WIRES[carrier]
        # End User Messaging's events and replies travel through SNS (its keys are made
        # here: only an eum simulator has one).
        self.sns: Sns | None = Sns(self.eum) if carrier == "eum" else None
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.default_timeout_seconds = timeout_seconds
        self.stopping = threading.Event()
        self.listeners: list[Callable[[Submission], None]] = []
        self._lock = threading.Lock()
        self._submissions: list[Submission] = []
        self._refused: list[Submission] = []
        self._fault = Fault("none", timeout_seconds=timeout_seconds)
        self._latency = 0.0
        self._outcomes: dict[str | None, dict[str, Any]] = {}
        self._limit: tuple[float, float] | None = None  # messages a second, burst
        self._tokens = 0.0
        self._refilled = 0.0
        self.throttled = 0
        """Submissions refused with a 429 by the carrier's own limit (`set_rate_limit`)."""
        self.receipts: Any = None  # the ReceiptSender while running
        # Inbound messages (replies); the local stack sets `replies.url` (the Responses URL).
        self.replies = ReplySender(
            account_sid,
            auth_token,
            carrier=carrier,
            vonage=self.vonage,
            sns=self.sns,
            previous=self.last_message_id,
        )

    def set_outcome(self, payload: dict[str, Any]) -> dict[str, Any]:
        """What the receipts of later submissions to `to` (None: anyone) will say."""
        outcome = validated_outcome(payload)
        with self._lock:
            self._outcomes[outcome["to"]] = outcome
        return outcome

    def outcome_for(self, to: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._outcomes.get(to) or self._outcomes.get(None) or DEFAULT_OUTCOME)

    def outcomes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(o) for o in self._outcomes.values()]

    def authorized(self, account_sid: str, user: str, password: str) -> bool:
        """True for this account's own credentials on this account's resources."""
        return (
            hmac.compare_digest(user.encode(), self.account_sid.encode())
            and hmac.compare_digest(password.encode(), self.auth_token.encode())
            and account_sid == self.account_sid
        )

    def record(self, fields: Submission, outcome: str) -> Submission:
        """Store one submission the carrier took (or may have taken) and return it."""
        submission = fields | {"received_at": datetime.now(UTC).isoformat(), "outcome": outcome}
        with self._lock:
            self._submissions.append(submission)
        return dict(submission)

    def refuse(self, fields: Submission, fault: str) -> None:
        """Note a submission a fault refused (5xx, 429, a Vonage status): the carrier was
        asked and did not take it, so it is not one of `submissions()`."""
        refused = fields | {"received_at": datetime.now(UTC).isoformat(), "fault": fault}
        with self._lock:
            self._refused.append(refused)

    def refused(self) -> list[Submission]:
        with self._lock:
            return [dict(s) for s in self._refused]

    def notify(self, submission: Submission) -> None:
        """Tell the listeners (later: the callback dispatcher) about a submission taken."""
        for listener in list(self.listeners):
            listener(dict(submission))

    def submissions(self) -> list[Submission]:
        with self._lock:
            return [dict(s) for s in self._submissions]

    def last_message_id(self, recipient: str, sender: str) -> str | None:
        """The id of the latest submission from `sender` to `recipient` (what a two-way
        reply names as the message it answers), or None."""
        with self._lock:
            for submission in reversed(self._submissions):
                if (submission["To"], submission["From"]) == (recipient, sender):
                    return str(submission["sid"])
        return None

    def reset(self) -> None:
        """Forget every submission and clear the fault, the latency and the rate limit."""
        with self._lock:
            self._limit = None
            self.throttled = 0
            self._submissions.clear()
            self._refused.clear()
            self._fault = Fault("none", timeout_seconds=self.default_timeout_seconds)
            self._latency = 0.0
            self._outcomes.clear()
        if self.receipts is not None:
            self.receipts.reset()
        self.replies.reset()
        if self.sns is not None:
            self.sns.reset()

    def set_fault(
        self,
        mode: str,
        count: int | None = None,
        to: str | None = None,
        *,
        timeout_seconds: float | None = None,
        status: int | None = None,
    ) -> dict[str, Any]:
        """Fail the next `count` submissions (None: until cleared; to `to` only, when given)
        the way `mode` says.

        Modes: none, 5xx, 429 (with Retry-After), opted-out (the carrier refuses the
        message itself: its recipient opted out, in the carrier's words), timeout (answer only after
        `timeout_seconds`), drop (close the connection without answering), and for Vonage
        status (an HTTP 200 whose message has Vonage status `status`, default 5).
        """
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        if mode == "status" and self.carrier != "vonage":
            raise ValueError(f"the status fault is Vonage's: this simulator speaks {self.carrier}")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise ValueError("status must be an integer or null")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ValueError("count must be an integer or null")
        if count is not None and count < 0:
            raise ValueError("count must not be negative")
        seconds = self.default_timeout_seconds if timeout_seconds is None else timeout_seconds
        if mode == "status" and status is None:
            status = DEFAULT_STATUS
        fault = Fault(mode, count, to, _seconds(seconds, "timeout_seconds"), status)
        with self._lock:
            self._fault = fault
        return asdict(fault)

    def fault(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._fault)

    def take_fault(self, to: str) -> Fault | None:
        """The fault that applies to this submission, if any; counts it down."""
        with self._lock:
            fault = self._fault
            if not fault.matches(to):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
            return Fault(fault.mode, fault.remaining, fault.to, fault.timeout_seconds, fault.status)

    def set_rate_limit(self, rate: float | None, burst: float | None = None) -> None:
        """Take at most `rate` submissions a second, `burst` at once (default: a second's
        worth), as a carrier's throughput limit does; refuse the others with a 429 and
        count them in `throttled`. None: no limit."""
        with self._lock:
            self._limit = None if rate is None else (rate, burst or max(1.0, rate))
            self._tokens = self._limit[1] if self._limit else 0.0
            self._refilled = time.monotonic()
            self.throttled = 0

    def admit(self) -> bool:
        """Whether the carrier's own limit takes one more submission now (a token bucket)."""
        with self._lock:
            if self._limit is None:
                return True
            rate, burst = self._limit
            now = time.monotonic()
            self._tokens = min(burst, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            self.throttled += 1
            return False

    def set_latency(self, seconds: float) -> float:
        with self._lock:
            self._latency = _seconds(seconds, "seconds")
            return self._latency

    def latency(self) -> float:
        with self._lock:
            return self._latency

    def pause(self, seconds: float) -> None:
        """Sleep, but wake up when the simulator stops."""
        if seconds > 0:
            self.stopping.wait(seconds)


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)
