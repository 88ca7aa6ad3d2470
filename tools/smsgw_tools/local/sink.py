"""A webhook sink: a small HTTP server that records every request it receives.

Point a message's DeliveryReceiptWebhookUri at it (any path) and read back what arrived:

    GET  /_sink/requests   -> {"requests": [{"method", "path", "query", "headers", "body", ...}]}
    POST /_sink/reset      -> forget them (and the programmed answers)
    POST /_sink/answers    {"status": 500, "count": 2}   answer the next 2 requests with 500
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import urlsplit

from smsgw_tools.http_serving import LocalHTTPServer, serve_in_background, stop_serving


class WebhookSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._answers: list[int] = []
        self._server: LocalHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sink is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._answers.clear()

    def answer_with(self, status: int, count: int = 1) -> None:
        """Answer the next `count` webhook requests with `status` (then 200 again)."""
        with self._lock:
            self._answers.extend([status] * count)

    def _record(self, request: dict[str, Any]) -> int:
        with self._lock:
            self._requests.append(request)
            return self._answers.pop(0) if self._answers else 200

    def start(self) -> Self:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                url = urlsplit(self.path)
                if url.path == "/_sink/requests" and self.command == "GET":
                    self._send(200, {"requests": sink.requests()})
                elif url.path == "/_sink/reset" and self.command == "POST":
                    sink.reset()
                    self._send(200, {"status": "ok"})
                elif url.path == "/_sink/answers" and self.command == "POST":
                    payload = json.loads(body or "{}")
                    sink.answer_with(int(payload["status"]), int(payload.get("count", 1)))
                    self._send(200, {"status": "ok"})
                else:
                    status = sink._record(
                        {
                            "method": self.command,
                            "path": url.path,
                            "query": url.query,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "received_at": datetime.now(UTC).isoformat(),
                        }
                    )
                    self._send(status, {"received": True})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = LocalHTTPServer((self.host, self.port), Handler)
        self._thread = serve_in_background(self._server, "webhook-sink")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            stop_serving(self._server, self._thread)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
