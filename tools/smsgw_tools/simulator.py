"""The carrier simulator: a real HTTP server speaking Twilio's Programmable Messaging subset.

`TwilioCarrier` runs against it unchanged, so the adapter code exercised locally is the code
that runs in production. Besides the Messages endpoint it has control endpoints under
`/_sim/` (JSON in and out) to inspect submissions and inject faults and latency.

It speaks Vonage's SMS API too (`POST /sms/json`, `CarrierSimulator(carrier="vonage")`):
submissions are recorded in the same shape (E.164 numbers, `Body`, the part ids, and the
`form` as sent), receipts are Vonage DLRs (signed `sig`, by GET) and replies Vonage inbound
messages (a signed JSON POST); the control endpoints are the same for both, and Vonage has
one more fault: `status`, a Vonage status code in an HTTP 200 answer. What each carrier says
on the wire is in `simulator_formats`.

And it speaks AWS End User Messaging SMS (`CarrierSimulator(carrier="eum")`): `POST /` with
`X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage` (boto3's `pinpoint-sms-voice-v2` client
with the simulator as its endpoint), AWS JSON errors for the faults (ThrottlingException,
InternalServerException), and delivery events and replies as signed SNS notifications to
the subscribed endpoints; `GET /_sim/sns` shows the topics, subscriptions and the HTTPS
server that serves the signing certificate (`simulator_eum`, `simulator_sns`).

Layout: `SimulatorState` holds everything the simulator knows and decides (thread-safe, no
HTTP); `_Handler` only translates HTTP to and from it; `CarrierSimulator` runs the server in a
background thread. Delivery receipts (signed callbacks POSTed to each submission's
StatusCallback) are sent by `simulator_receipts.ReceiptSender`, subscribed through
`SimulatorState.listeners`, which is called with every submission the simulator took, once
it has answered; `POST /_sim/outcomes` sets their status, delay and error code per
recipient, `GET /_sim/receipts` lists what was sent. Replies (inbound SMS) are posted by
`simulator_replies.ReplySender` on `POST /_sim/replies`.

    python -m smsgw_tools.simulator --port 8025 [--carrier vonage|eum]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hmac
import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from smsgw_tools.serving import LocalHTTPServer, serve_in_background
from smsgw_tools.simulator_eum import (
    DEFAULT_REGION,
    AwsError,
    EumAccount,
    EumWire,
    aws_authorized,
    send_text_message_request,
)
from smsgw_tools.simulator_formats import (
    API_VERSION,
    VONAGE_SMS_PATH,
    WIRES,
    Answer,
    Submission,
    VonageCredentials,
    Wire,
    message_resource,
    twilio_error,
)
from smsgw_tools.simulator_sns import Sns

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "AC" + "simulator".ljust(32, "0")
DEFAULT_AUTH_TOKEN = "simulator-token"  # noqa: S105 - a local simulator, not a secret
DEFAULT_TIMEOUT_SECONDS = 15.0
RETRY_AFTER_SECONDS = 1
FAULT_MODES = ("none", "status", "5xx", "429", "timeout", "drop")
DEFAULT_VONAGE_STATUS = 5
CARRIERS = ("twilio", "vonage", "eum")

ACCEPTED = "accepted"
UNKNOWN = "unknown"
"""Outcome of a submission the simulator received but never answered in time (or at all)."""

_MESSAGES_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account_sid>[^/]+)/Messages\.json")


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
        self._fault = Fault("none", timeout_seconds=timeout_seconds)
        self._latency = 0.0
        self._outcomes: dict[str | None, dict[str, Any]] = {}
        self.receipts: Any = None  # the ReceiptSender while running
        from smsgw_tools.simulator_replies import ReplySender

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
        from smsgw_tools.simulator_receipts import validated_outcome

        outcome = validated_outcome(payload)
        with self._lock:
            self._outcomes[outcome["to"]] = outcome
        return outcome

    def outcome_for(self, to: str) -> dict[str, Any]:
        from smsgw_tools.simulator_receipts import DEFAULT_OUTCOME

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
        """Forget every submission and clear the fault and the latency."""
        with self._lock:
            self._submissions.clear()
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

        Modes: none, 5xx, 429 (with Retry-After), timeout (answer only after
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
            status = DEFAULT_VONAGE_STATUS
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


# --- control endpoints -----------------------------------------------------------------


def _health(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"status": "ok", "account_sid": state.account_sid}


def _messages(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"messages": state.submissions()}


def _reset(state: SimulatorState, _: dict[str, Any]) -> Answer:
    state.reset()
    return 200, {"status": "ok"}


def _get_fault(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, state.fault()


def _set_fault(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    fault = state.set_fault(
        payload.get("mode", ""),
        payload.get("count"),
        payload.get("to"),
        timeout_seconds=payload.get("timeout_seconds"),
        status=payload.get("status"),
    )
    return 200, fault


def _set_latency(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    return 200, {"seconds": state.set_latency(payload.get("seconds"))}


def _set_outcome(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    return 200, state.set_outcome(payload)


def _get_outcomes(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"outcomes": state.outcomes()}


def _receipts(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"receipts": state.receipts.sent() if state.receipts else []}


def _send_reply(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    return state.replies.send(payload)


def _replies(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, {"replies": state.replies.sent()}


def _sns_of(state: SimulatorState) -> Sns:
    if state.sns is None:
        raise ValueError(f"SNS is End User Messaging's: this simulator speaks {state.carrier}")
    return state.sns


def _sns(state: SimulatorState, _: dict[str, Any]) -> Answer:
    return 200, _sns_of(state).describe()


def _subscribe(state: SimulatorState, payload: dict[str, Any]) -> Answer:
    """Subscribe an endpoint to a topic; SNS sends it the SubscriptionConfirmation now."""
    return 200, _sns_of(state).subscribe(payload.get("topic", ""), payload.get("endpoint", ""))


_CONTROL_ROUTES: dict[tuple[str, str], Callable[[SimulatorState, dict[str, Any]], Answer]] = {
    ("POST", "/_sim/outcomes"): _set_outcome,
    ("GET", "/_sim/outcomes"): _get_outcomes,
    ("GET", "/_sim/receipts"): _receipts,
    ("POST", "/_sim/replies"): _send_reply,
    ("GET", "/_sim/replies"): _replies,
    ("GET", "/_sim/health"): _health,
    ("GET", "/_sim/messages"): _messages,
    ("POST", "/_sim/reset"): _reset,
    ("GET", "/_sim/faults"): _get_fault,
    ("POST", "/_sim/faults"): _set_fault,
    ("POST", "/_sim/latency"): _set_latency,
    ("GET", "/_sim/sns"): _sns,
    ("POST", "/_sim/sns/subscriptions"): _subscribe,
}


# --- HTTP ------------------------------------------------------------------------------


class _Server(LocalHTTPServer):
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads parked on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator: error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive answers stall ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if path.startswith("/_sim/"):
            self._control(method, path, body)
            return
        state = self.server.state
        match = _MESSAGES_PATH.fullmatch(path)
        if method == "POST" and match and state.carrier == "twilio":
            form = dict(parse_qsl(body, keep_blank_values=True))
            self._submit(form, state.authorized(match["account_sid"], *self._basic_auth()))
            return
        if method == "GET" and match and state.carrier == "twilio":
            self._list_messages(match["account_sid"])
            return
        if method == "POST" and path == VONAGE_SMS_PATH and state.carrier == "vonage":
            form = self._vonage_form(body)
            self._submit(form, state.vonage.authorized(form))
            return
        if method == "POST" and path == "/" and state.carrier == "eum":
            self._eum_call(body)
            return
        self._send(*twilio_error(404, 20404, f"The requested resource {path} was not found"))

    def _control(self, method: str, path: str, body: str) -> None:
        route = _CONTROL_ROUTES.get((method, path))
        if route is None:
            self._send(404, {"error": f"no control endpoint {method} {path}"})
            return
        try:
            payload = json.loads(body) if body.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            self._send(*route(self.server.state, payload))
        except ValueError as exc:
            self._send(400, {"error": str(exc)})

    def _eum_call(self, body: str) -> None:
        """An End User Messaging API call: SendTextMessage, signed for `sms-voice` in the
        simulator's region; any other operation or a body that is not JSON is refused."""
        state = self.server.state
        try:
            request = send_text_message_request(self.headers.get("X-Amz-Target"), body)
        except AwsError as refused:
            self._send(*refused.answer, content_type=state.wire.content_type)
            return
        self._submit(request, aws_authorized(self.headers.get("Authorization"), state.eum.region))

    def _submit(self, form: dict[str, Any], authorized: bool) -> None:
        """A submission in the simulator's carrier's format: refused as that carrier would,
        failed as the fault says, or recorded, answered and passed to the listeners."""
        state = self.server.state
        wire = state.wire
        state.pause(state.latency())
        if refusal := wire.refusal(form, authorized):
            self._send(*refusal, content_type=wire.content_type)
            return
        fields = wire.submission(form)
        fault = state.take_fault(fields["To"])
        if fault is not None and fault.mode == "status":
            self._send(*wire.status_refusal(fault.status or DEFAULT_VONAGE_STATUS))
        elif fault is not None and fault.mode == "5xx":
            self._send(*wire.server_error(), content_type=wire.content_type)
        elif fault is not None and fault.mode == "429":
            retry = {"Retry-After": str(RETRY_AFTER_SECONDS)} if wire.retry_after else None
            self._send(*wire.throttled(), headers=retry, content_type=wire.content_type)
        else:
            submission = state.record(fields, ACCEPTED if fault is None else UNKNOWN)
            if fault is not None and fault.mode == "drop":
                self.close_connection = True
            else:
                if fault is not None:
                    state.pause(fault.timeout_seconds)
                answer = wire.accepted(state.account_sid, submission)
                self._send(*answer, content_type=wire.content_type)
            state.notify(submission)

    def _list_messages(self, account_sid: str) -> None:
        """Twilio's Messages list, filtered by To, From and `DateSent>` (a day); the
        gateway's reconciliation reads it."""
        state = self.server.state
        if not state.authorized(account_sid, *self._basic_auth()):
            self._send(*twilio_error(401, 20003, "Authenticate"))
            return
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        since = query.get("DateSent>", "")
        found = [
            message_resource(state.account_sid, submission)
            for submission in reversed(state.submissions())
            if query.get("To") in (None, submission["To"])
            and query.get("From") in (None, submission["From"])
            and submission["received_at"][:10] >= since
        ]
        self._send(200, {"messages": found, "page": 0, "page_size": len(found)})

    def _vonage_form(self, body: str) -> dict[str, str]:
        """Vonage's submission: form-encoded, or a JSON object."""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            loaded = json.loads(body or "{}")
            return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        return dict(parse_qsl(body, keep_blank_values=True))

    def _basic_auth(self) -> tuple[str, str]:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return "", ""
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return user, password

    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", errors="replace") if length > 0 else ""

    def _send(
        self,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (its read timeout); a real carrier would not notice either.
            self.close_connection = True


# --- the server ------------------------------------------------------------------------


class CarrierSimulator:
    """A running carrier simulator; use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        carrier: str = "twilio",
        vonage: VonageCredentials | None = None,
        eum: EumAccount | None = None,
    ) -> None:
        """`carrier` is the wire format it speaks: twilio, vonage or eum (`eum` is the AWS
        account End User Messaging plays: region, identity, configuration set)."""
        self.host = host
        self.port = port
        self.state = SimulatorState(account_sid, auth_token, timeout_seconds, carrier, vonage, eum)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def account_sid(self) -> str:
        return self.state.account_sid

    @property
    def auth_token(self) -> str:
        return self.state.auth_token

    @property
    def sns(self) -> Sns | None:
        """End User Messaging's SNS (None for the other carriers)."""
        return self.state.sns

    @property
    def url(self) -> str:
        """The base URL to give the adapter (TwilioCarrier's base URL, VonageCarrier's,
        End User Messaging's `EndpointUrl`), e.g. http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Listen and serve in a background thread."""
        if self._server is not None:
            return self
        self.state.stopping.clear()
        from smsgw_tools.simulator_receipts import ReceiptSender

        self.state.receipts = ReceiptSender(
            self.state.account_sid,
            self.state.auth_token,
            self.state.outcome_for,
            self.state.stopping,
            carrier=self.state.carrier,
            vonage=self.state.vonage,
            sns=self.state.sns,
        )
        self.state.listeners.append(self.state.receipts)
        if self.state.sns is not None:
            self.state.sns.start(self.host)
        self._server = _Server((self.host, self.port), self.state)
        self._thread = serve_in_background(self._server, "carrier-simulator")
        return self

    def stop(self) -> None:
        """Stop serving; requests held by latency or a timeout fault are released."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.state.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join()
        self._server = self._thread = None
        if self.state.receipts is not None:
            self.state.listeners.remove(self.state.receipts)
            self.state.receipts.stop()
            self.state.receipts = None
        if self.state.sns is not None:
            self.state.sns.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def submissions(self) -> list[Submission]:
        """Every submission taken so far, oldest first."""
        return self.state.submissions()

    def reset(self) -> None:
        """Forget every submission and clear the fault and the latency."""
        self.state.reset()

    def set_fault(self, mode: str, *args: Any, **options: Any) -> None:
        """`SimulatorState.set_fault`: fail the next submissions the way `mode` says."""
        self.state.set_fault(mode, *args, **options)

    def set_latency(self, seconds: float) -> None:
        """Delay every answer of the Messages endpoint by `seconds`."""
        self.state.set_latency(seconds)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m smsgw_tools.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--timeout-seconds", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    parser.add_argument("--carrier", choices=CARRIERS, default="twilio")
    parser.add_argument("--region", default=DEFAULT_REGION, help="End User Messaging's")
    args = parser.parse_args(argv)
    simulator = CarrierSimulator(
        args.host,
        args.port,
        args.account_sid,
        args.auth_token,
        timeout_seconds=args.timeout_seconds,
        carrier=args.carrier,
        eum=EumAccount(region=args.region),
    )
    with simulator:
        print(f"carrier simulator on {simulator.url} (AccountSid {simulator.account_sid})")
        if simulator.sns is not None:
            print(
                f"SNS over HTTPS on {simulator.sns.https_url}: map {simulator.sns.hosts} and "
                f"trust the CA of GET {simulator.url}/_sim/sns; subscribe with "
                f"POST {simulator.url}/_sim/sns/subscriptions"
            )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
