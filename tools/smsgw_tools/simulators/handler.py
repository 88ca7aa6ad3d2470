"""The carrier simulator's HTTP server: it translates HTTP to and from `SimulatorState`.

A carrier's requests go to the simulator's wire (`state.wire`): Twilio's Messages endpoint
(and its list, which the gateway's reconciliation reads), Vonage's `POST /sms/json`, End
User Messaging's `POST /` with `X-Amz-Target`; `/_sim/...` to the control endpoints.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from smsgw_tools.http_serving import LocalHTTPServer
from smsgw_tools.simulators.controls import CONTROL_ROUTES
from smsgw_tools.simulators.eum_wire import AwsError, aws_authorized, send_text_message_request
from smsgw_tools.simulators.state import ACCEPTED, UNKNOWN, Fault, SimulatorState
from smsgw_tools.simulators.twilio_wire import API_VERSION, message_resource, twilio_error
from smsgw_tools.simulators.vonage_wire import DEFAULT_STATUS, VONAGE_SMS_PATH

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1

_MESSAGES_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account_sid>[^/]+)/Messages\.json")


class SimulatorHttpServer(LocalHTTPServer):
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
    server: SimulatorHttpServer

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
        route = CONTROL_ROUTES.get((method, path))
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
        if fault is None and not state.admit():  # beyond the carrier's own rate limit
            fault = Fault("429")
        if fault is not None and fault.mode in ("status", "5xx", "429", "opted-out"):
            state.refuse(fields, fault.mode)
        if fault is not None and fault.mode == "status":
            self._send(*wire.status_refusal(fault.status or DEFAULT_STATUS))
        elif fault is not None and fault.mode == "opted-out":
            self._send(*wire.opted_out(), content_type=wire.content_type)
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
