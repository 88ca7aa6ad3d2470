"""An HTTP API (API Gateway v2) emulator for the template's routes.

It builds payload-format 2.0 events, runs the Lambda REQUEST authorizer with its result
cache, and maps function results to HTTP responses the way API Gateway does, including its
error bodies: 401 when the identity header is missing, 403 when the authorizer denies,
404 for no route or a method no route has (TRACE included), 413 over 10 MB, 500 when the
function fails or times out. A body that is not UTF-8 text is passed on base64-encoded.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from smsgw_tools.http_serving import LocalHTTPServer, serve_in_background, stop_serving
from smsgw_tools.local.runtime import Invocation
from smsgw_tools.template.model import Authorizer, Route

BODY_LIMIT_BYTES = 10 * 1024 * 1024
STAGE = "$default"
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|.*\+json|.*\+xml))(;.*)?$", re.IGNORECASE
)

Invoke = Callable[[str, Any], Invocation]


@dataclass(frozen=True)
class Response:
    """An HTTP response the gateway sends."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def message(cls, status: int, message: str) -> Response:
        """API Gateway's own error shape: `{"message": ...}`."""
        body = json.dumps({"message": message}).encode()
        return cls(status, [("content-type", "application/json")], body)


@dataclass(frozen=True)
class Request:
    """An HTTP request as the gateway received it."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    rank: tuple[int, int, int]


def _compile(route: Route) -> _CompiledRoute:
    segments = route.path.strip("/").split("/")
    parts = []
    for segment in segments:
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    pattern = re.compile("^/" + "/".join(parts) + "/?$")
    literal = sum(1 for segment in segments if not segment.startswith("{"))
    greedy = sum(1 for segment in segments if segment.endswith("+}"))
    # The most specific route wins: more literal segments, no greedy path, exact method.
    return _CompiledRoute(route, pattern, (-literal, greedy, route.method == "ANY"))


class HttpApiGateway:
    """Serves the template's HTTP API routes on 127.0.0.1."""

    def __init__(
        self,
        routes: list[Route],
        authorizers: dict[str, Authorizer],
        invoke: Invoke,
        *,
        region: str,
        account_id: str,
        host: str = "127.0.0.1",
        port: int = 3000,
    ) -> None:
        self._routes = sorted(
            (_compile(route) for route in routes if route.path != "$default"),
            key=lambda compiled: compiled.rank,
        )
        self._default = next((route for route in routes if route.path == "$default"), None)
        self._authorizers = authorizers
        self._invoke = invoke
        self.region = region
        self.account_id = account_id
        self.api_id = "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10)
        )
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, bool, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        self._server = LocalHTTPServer((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:3000`."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = serve_in_background(self._server, "http-api")

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread:
            stop_serving(self._server, self._thread)
            self._thread = None
        else:
            self._server.server_close()

    def handle(self, request: Request) -> Response:
        """Route, authorize and invoke one request."""
        request_id = base64.b64encode(secrets.token_bytes(10)).decode()
        if len(request.body) > BODY_LIMIT_BYTES:
            return Response.message(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
        matched = self._match(request.method, request.raw_path)
        if matched is None:
            return Response.message(HTTPStatus.NOT_FOUND, "Not Found")
        route, path_parameters = matched
        event = self._event(request, route, path_parameters, request_id)
        if route.authorizer:
            denied = self._authorize(self._authorizers[route.authorizer], request, event)
            if denied is not None:
                return denied
        invocation = self._invoke(route.function, event)
        response = to_http_response(invocation)
        return Response(
            response.status, [*response.headers, ("apigw-requestid", request_id)], response.body
        )

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            match = compiled.pattern.match(path)
            if match:
                return compiled.route, match.groupdict()
        return (self._default, {}) if self._default else None

    def _event(
        self, request: Request, route: Route, path_parameters: dict[str, str], request_id: str
    ) -> dict[str, Any]:
        headers = _joined_headers(request.headers)
        cookies = headers.pop("cookie", None)
        now = datetime.now(UTC)
        host = headers.get("host", "localhost")
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.raw_path,
            "rawQueryString": request.raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.api_id,
                "domainName": host,
                "domainPrefix": host.split(".", 1)[0],
                "http": {
                    "method": request.method,
                    "path": request.raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.route_key,
                "stage": STAGE,
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = [cookie.strip() for cookie in cookies.split(";")]
        query = _joined_query(request.raw_query)
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if request.body:
            text = _is_text(headers.get("content-type"), request.body)
            event["body"] = (
                request.body.decode() if text else base64.b64encode(request.body).decode()
            )
            event["isBase64Encoded"] = not text
        return event

    def _authorize(
        self, authorizer: Authorizer, request: Request, event: dict[str, Any]
    ) -> Response | None:
        """None when authorized (the context is put in `event`), else the error response."""
        headers = event["headers"]
        identity = tuple(headers.get(name.lower(), "") for name in authorizer.identity_headers)
        if not all(identity):
            return Response.message(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        key = (authorizer.name, identity)
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            allowed, context = cached[1], cached[2]
        else:
            decision = self._ask(authorizer, event, list(identity))
            if decision is None:
                return Response.message(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
            allowed, context = decision
            if authorizer.ttl_seconds > 0:
                with self._cache_lock:
                    self._cache[key] = (time.monotonic() + authorizer.ttl_seconds, allowed, context)
        if not allowed:
            return Response.message(HTTPStatus.FORBIDDEN, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": context}
        return None

    def _ask(
        self, authorizer: Authorizer, event: dict[str, Any], identity: list[str]
    ) -> tuple[bool, dict[str, Any]] | None:
        path = event["rawPath"].lstrip("/")
        method = event["requestContext"]["http"]["method"]
        route_arn = f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{STAGE}/{method}/{path}"
        authorizer_event = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": route_arn,
            "identitySource": identity,
            **{
                key: value
                for key, value in event.items()
                if key not in ("body", "isBase64Encoded", "version")
            },
        }
        invocation = self._invoke(authorizer.function, authorizer_event)
        if not invocation.ok or not isinstance(invocation.result, dict):
            return None
        return _authorizer_decision(invocation.result, authorizer.simple_responses)


def _authorizer_decision(
    result: dict[str, Any], simple: bool
) -> tuple[bool, dict[str, Any]] | None:
    if simple:
        if not isinstance(result.get("isAuthorized"), bool):
            return None
        return result["isAuthorized"], result.get("context") or {}
    statements = result.get("policyDocument", {}).get("Statement", [])
    effects = {statement.get("Effect") for statement in statements}
    return ("Allow" in effects and "Deny" not in effects), result.get("context") or {}


def to_http_response(invocation: Invocation) -> Response:
    """Map a function's result to the HTTP response, by API Gateway's v2 rules."""
    if not invocation.ok:
        return Response.message(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
    result = invocation.result
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response(
            HTTPStatus.OK, [("content-type", "application/json")], json.dumps(result).encode()
        )
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return Response.message(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
    headers = [
        (str(name).lower(), str(value)) for name, value in (result.get("headers") or {}).items()
    ]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(str(name).lower(), str(value)) for value in values]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return Response(status, headers, payload)


def _joined_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _joined_query(raw_query: str) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _is_text(content_type: str | None, body: bytes) -> bool:
    """HTTP APIs pass text bodies as they are and base64-encode everything else, a body
    of a text type that is not UTF-8 included."""
    if content_type and not _TEXT_TYPES.match(content_type.strip()):
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _handler_class(gateway: HttpApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "local-http-api"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > BODY_LIMIT_BYTES:
                self._send(
                    Response.message(
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large"
                    )
                )
                self.close_connection = True
                return
            url = urlsplit(self.path)
            request = Request(
                method=self.command,
                raw_path=url.path,
                raw_query=url.query,
                headers=list(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                source_ip=self.client_address[0],
            )
            self._send(gateway.handle(request))

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name not in ("content-length", "connection", "date", "server"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # access logs would drown the functions' own logs

        def __getattr__(self, name: str) -> Any:
            # Every method (TRACE, made-up ones) goes to the routes, as on API Gateway,
            # which answers its own 404 where no route has it (not the stdlib's HTML 501).
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

    return Handler
