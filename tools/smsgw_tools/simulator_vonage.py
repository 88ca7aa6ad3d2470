"""A Vonage-format carrier simulator: a real HTTP server speaking the SMS API subset.

`VonageCarrier` runs against it unchanged. It answers `POST /sms/json` the way Vonage does
(HTTP 200 with one `messages` entry per SMS part, each with its own `status`), holds what it
took, and can be told to fail: a Vonage `status` code in the answer, an HTTP 5xx or 429, a
timeout or a dropped connection, for the next N submissions or for one recipient.
`signed_callback` builds the signed parameters of a delivery receipt or an inbound message,
for tests and for a later receipt sender.

Self-contained on purpose, so it can be plugged into `smsgw_tools.simulator` later.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from smsgw.carriers.vonage import SUBMIT_STATUSES, signature
from smsgw.logic.text import analyse

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "simkey01"
DEFAULT_API_SECRET = "simulator-secret"  # noqa: S105 - a local simulator, not a secret
DEFAULT_SIGNATURE_SECRET = "simulator-signature-secret"  # noqa: S105
FAULT_MODES = ("none", "status", "5xx", "429", "timeout", "drop")
ACCEPTED = "accepted"
UNKNOWN = "unknown"
"""Outcome of a submission received but never answered in time (or at all)."""


@dataclass(slots=True)
class Fault:
    """A fault applied to the next `remaining` submissions (None: until cleared)."""

    mode: str
    remaining: int | None = None
    to: str | None = None
    status: int = 5
    timeout_seconds: float = 15.0

    def matches(self, to: str) -> bool:
        return self.mode != "none" and self.to in (None, to) and self.remaining != 0


class VonageSimulatorState:
    """Submissions and faults; shared by all request threads."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._submissions: list[dict[str, Any]] = []
        self._fault = Fault("none")

    def record(self, form: dict[str, str], outcome: str) -> dict[str, Any]:
        parts = analyse(form.get("text", "")).segments
        submission = dict(form) | {
            "message_ids": [secrets.token_hex(8).upper() for _ in range(parts)],
            "outcome": outcome,
        }
        submission.pop("api_secret", None)
        with self._lock:
            self._submissions.append(submission)
        return submission

    def submissions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self._submissions]

    def reset(self) -> None:
        with self._lock:
            self._submissions.clear()
            self._fault = Fault("none")

    def set_fault(self, fault: Fault) -> None:
        if fault.mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        with self._lock:
            self._fault = fault

    def take_fault(self, to: str) -> Fault | None:
        with self._lock:
            fault = self._fault
            if not fault.matches(to):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
            return Fault(fault.mode, fault.remaining, fault.to, fault.status, fault.timeout_seconds)


def vonage_answer(submission: dict[str, Any]) -> dict[str, Any]:
    """The SMS API's answer to an accepted submission: one entry per part."""
    ids = submission["message_ids"]
    return {
        "message-count": str(len(ids)),
        "messages": [
            {
                "to": submission["to"],
                "message-id": message_id,
                "status": "0",
                "remaining-balance": "10.00000000",
                "message-price": "0.03330000",
                "network": "23410",
            }
            for message_id in ids
        ],
    }


def status_answer(status: int) -> dict[str, Any]:
    """The SMS API's answer refusing a submission with Vonage status `status`."""
    meaning = SUBMIT_STATUSES.get(status, ("Unknown", True))[0]
    return {"message-count": "1", "messages": [{"status": str(status), "error-text": meaning}]}


def signed_callback(
    params: dict[str, str],
    secret: str = DEFAULT_SIGNATURE_SECRET,
    method: str = "md5hash",
    now: float | None = None,
) -> dict[str, str]:
    """`params` with the `timestamp`, `nonce` and `sig` Vonage adds to a signed webhook."""
    signed = dict(params)
    signed.setdefault("timestamp", str(int(time.time() if now is None else now)))
    signed.setdefault("nonce", secrets.token_hex(16))
    signed["sig"] = signature(secret, signed.items(), method)
    return signed


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: VonageSimulatorState) -> None:
        self.state = state
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("vonage simulator: error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("vonage simulator: " + format, *args)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length > 0 else ""
        if urlsplit(self.path).path != "/sms/json":
            self._send(404, {"error": "not found"})
            return
        if self.headers.get("Content-Type", "").startswith("application/json"):
            loaded = json.loads(body or "{}")
            form = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        else:
            form = dict(parse_qsl(body, keep_blank_values=True))
        self._submit(form)

    def _submit(self, form: dict[str, str]) -> None:
        state = self.server.state
        if not (
            hmac.compare_digest(form.get("api_key", "").encode(), state.api_key.encode())
            and hmac.compare_digest(form.get("api_secret", "").encode(), state.api_secret.encode())
        ):
            self._send(200, status_answer(4))
            return
        if not form.get("from") or not form.get("to") or "text" not in form:
            self._send(200, status_answer(2))
            return
        if form["to"].startswith("+") or not form["to"].isdigit():
            self._send(200, status_answer(3))
            return
        fault = state.take_fault(form["to"])
        if fault is None:
            self._send(200, vonage_answer(state.record(form, ACCEPTED)))
        elif fault.mode == "status":
            self._send(200, status_answer(fault.status))
        elif fault.mode == "5xx":
            self._send(500, {"error": "Internal Server Error"})
        elif fault.mode == "429":
            self._send(429, {"error": "Too Many Requests"}, {"Retry-After": "1"})
        elif fault.mode == "drop":
            state.record(form, UNKNOWN)
            self.close_connection = True
        else:
            submission = state.record(form, UNKNOWN)
            state.stopping.wait(fault.timeout_seconds)
            self._send(200, vonage_answer(submission))

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class VonageSimulator:
    """A running Vonage-format simulator; use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
    ) -> None:
        self.host = host
        self.port = port
        self.state = VonageSimulatorState(api_key, api_secret)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the simulator is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        if self._server is None:
            self.state.stopping.clear()
            self._server = _Server((self.host, self.port), self.state)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="vonage-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.state.stopping.set()
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def submissions(self) -> list[dict[str, Any]]:
        return self.state.submissions()

    def reset(self) -> None:
        self.state.reset()

    def set_fault(
        self,
        mode: str,
        *,
        count: int | None = None,
        to: str | None = None,
        status: int = 5,
        timeout_seconds: float = 15.0,
    ) -> None:
        """Fail the next `count` submissions (None: all) to `to` (None: anyone); mode
        `status` answers with Vonage status `status` in an HTTP 200."""
        self.state.set_fault(Fault(mode, count, to, status, timeout_seconds))
