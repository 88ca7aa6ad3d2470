"""SNS for the carrier simulator's End User Messaging: topics, HTTPS subscriptions, signed
messages, and an HTTPS server for the signing certificate and ConfirmSubscription.

End User Messaging publishes delivery events and two-way replies to SNS topics; `Sns` is
that SNS. It signs each message (SignatureVersion 2, SHA256withRSA) with a key of its own,
delivers it to the topic's confirmed subscriptions as SNS does (a text/plain JSON POST with
the `x-amz-sns-*` headers), and serves the signing certificate and the ConfirmSubscription
URL from an HTTPS server on 127.0.0.1 whose certificate, for `sns.<region>.amazonaws.com`
(and 127.0.0.1), is issued by a private CA made at start-up (`certificates.LocalAuthority`).
The messages' signatures and the XML answers are in `sns_messages`.

Nothing here changes what the adapter checks: its certificate URL must still be
`https://sns.<region>.amazonaws.com/...pem` on port 443. The local stack makes that name
reach the HTTPS server and the functions trust the CA, as `/etc/hosts` and a private CA
would (docs/decisions.md). The signing side is written from SNS's documentation ("Verifying
the signatures of Amazon SNS messages"), not from the adapter's code, so each checks the
other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import ssl
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import requests
from cryptography.hazmat.primitives import serialization

from smsgw_tools.http_serving import LocalHTTPServer, serve_in_background, stop_serving
from smsgw_tools.simulators.certificates import LocalAuthority, pem, rsa_key
from smsgw_tools.simulators.eum_wire import EumAccount
from smsgw_tools.simulators.sns_messages import (
    SNS_USER_AGENT,
    Reply,
    confirm_subscription_response,
    error_response,
    sign,
    timestamp,
    unsubscribe_response,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Subscription:
    """An HTTPS subscription: pending until its endpoint GETs the SubscribeURL."""

    arn: str
    topic_arn: str
    endpoint: str
    token: str
    confirmed: bool = False
    confirmed_through: str | None = None
    """The Host the ConfirmSubscription GET named (the name the endpoint resolved)."""
    confirmation: dict[str, Any] | None = None
    """How the endpoint answered the SubscriptionConfirmation."""


class Sns:
    """The SNS End User Messaging publishes to: topics with HTTPS subscriptions, signed
    messages, and an HTTPS server for the signing certificate and ConfirmSubscription.

    Like SNS, it delivers a topic's notifications only to confirmed subscriptions, and
    confirms one only when the endpoint GETs the SubscribeURL with the right token."""

    def __init__(self, account: EumAccount) -> None:
        self.account = account
        self.authority = LocalAuthority()
        self._signing_key = rsa_key()
        # Shaped like SNS's own (a TLS server's certificate for sns.amazonaws.com): the
        # adapter verifies its chain and extensions (smsgw.carriers.sns_certificates).
        self.signing_certificate = self.authority.issue(
            self._signing_key, "sns.amazonaws.com", dns_names=("sns.amazonaws.com",)
        )
        self._tls_key = rsa_key()
        self._tls_certificate = self.authority.issue(
            self._tls_key,
            account.sns_host,
            dns_names=(account.sns_host,),
            addresses=("127.0.0.1",),
        )
        self.signing_cert_url = (
            f"https://{account.sns_host}/SimpleNotificationService-{secrets.token_hex(16)}.pem"
        )
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        self._requests: list[dict[str, Any]] = []
        self._session = requests.Session()
        self._server: _HttpsServer | None = None
        self._thread: threading.Thread | None = None

    # --- the HTTPS server ---

    def start(self, host: str = "127.0.0.1") -> Self:
        """Serve the certificate and ConfirmSubscription over HTTPS on a free port."""
        if self._server is not None:
            return self
        self._server = _HttpsServer((host, 0), self, self._tls_context())
        self._thread = serve_in_background(self._server, "sns-https")
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        stop_serving(server, thread)
        self._server = self._thread = None
        self._session.close()

    @property
    def address(self) -> tuple[str, int]:
        """Where the HTTPS server listens."""
        if self._server is None:
            raise RuntimeError("the SNS server is not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def https_url(self) -> str:
        host, port = self.address
        return f"https://{host}:{port}"

    @property
    def hosts(self) -> str:
        """The name mapping that makes `https://sns.<region>.amazonaws.com` reach the
        server: `sns.<region>.amazonaws.com:443=127.0.0.1:<port>` (SMSGW_LOCAL_HOSTS)."""
        host, port = self.address
        return f"{self.account.sns_host}:443={host}:{port}"

    def _tls_context(self) -> ssl.SSLContext:
        """The server's TLS context; the key and chain go through a file only for
        `load_cert_chain`, which reads nothing else, and are deleted at once."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="smsgw-sns-") as directory:
            chain, key = Path(directory, "chain.pem"), Path(directory, "key.pem")
            chain.write_bytes(pem(self._tls_certificate) + self.authority.pem)
            key.write_bytes(
                self._tls_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            context.load_cert_chain(chain, key)
        return context

    # --- what the HTTPS server answers ---

    def serve(self, host: str, path_and_query: str) -> Reply:
        """One GET on the HTTPS server: (status, content type, body). Recorded, with the
        Host it named, so tests can tell what was fetched and through which name."""
        parts = urlsplit(path_and_query)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self._requests.append({"host": host, "path": parts.path, "query": query})
        if parts.path == urlsplit(self.signing_cert_url).path:
            return 200, "application/x-x509-ca-cert", pem(self.signing_certificate)
        if parts.path == "/" and query.get("Action") == "ConfirmSubscription":
            return self._confirm(query.get("TopicArn", ""), query.get("Token", ""), host)
        if parts.path == "/" and query.get("Action") == "Unsubscribe":
            return self._unsubscribe(query.get("SubscriptionArn", ""))
        return error_response(404, "NotFound", "Resource not found")

    def _confirm(self, topic_arn: str, token: str, host: str) -> Reply:
        with self._lock:
            found = next(
                (
                    s
                    for s in self._subscriptions.values()
                    if s.topic_arn == topic_arn and secrets.compare_digest(s.token, token)
                ),
                None,
            )
            if found is not None:
                found.confirmed, found.confirmed_through = True, host
        if found is None:
            return error_response(400, "InvalidParameter", "Invalid parameter: Token")
        return confirm_subscription_response(found.arn)

    def _unsubscribe(self, subscription_arn: str) -> Reply:
        with self._lock:
            removed = self._subscriptions.pop(subscription_arn, None)
        if removed is None:
            return error_response(404, "NotFound", "Subscription does not exist")
        return unsubscribe_response()

    # --- subscriptions and publishing ---

    def subscribe(self, topic_arn: str, endpoint: str) -> dict[str, Any]:
        """Subscribe `endpoint` (HTTP or HTTPS) to a topic and send it the signed
        SubscriptionConfirmation now; the subscription as it stands afterwards."""
        if topic_arn not in (self.account.events_topic, self.account.replies_topic):
            raise ValueError(f"no topic {topic_arn}")
        if not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in ("http", "https"):
            raise ValueError("endpoint must be an http(s) URL")
        subscription = Subscription(
            arn=f"{topic_arn}:{uuid.uuid4()}",
            topic_arn=topic_arn,
            endpoint=endpoint,
            token=secrets.token_hex(64),
        )
        with self._lock:
            self._subscriptions[subscription.arn] = subscription
        # Not under the lock: the endpoint confirms (a GET on our server) before it answers.
        answer = self._deliver(endpoint, self.confirmation(subscription), None)
        with self._lock:
            subscription.confirmation = answer
            return asdict(subscription)

    def confirmation(self, subscription: Subscription) -> dict[str, Any]:
        """The signed SubscriptionConfirmation of a subscription
        (tests/fixtures/eum/sns_subscription_confirmation.json)."""
        topic = subscription.topic_arn
        return self.signed(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": subscription.token,
                "TopicArn": topic,
                "Message": (
                    f"You have chosen to subscribe to the topic {topic}.\n"
                    "To confirm the subscription, visit the SubscribeURL included in this message."
                ),
                "SubscribeURL": (
                    f"https://{self.account.sns_host}/?Action=ConfirmSubscription"
                    f"&TopicArn={topic}&Token={subscription.token}"
                ),
                "Timestamp": timestamp(),
            }
        )

    def notification(
        self, topic_arn: str, message: str, subscription_arn: str | None = None
    ) -> dict[str, Any]:
        """A signed Notification of `message` on a topic (tests/fixtures/eum/
        sns_notification.json; End User Messaging publishes without a Subject)."""
        unsubscribe = f"https://{self.account.sns_host}/?Action=Unsubscribe&SubscriptionArn="
        return self.signed(
            {
                "Type": "Notification",
                "MessageId": str(uuid.uuid4()),
                "TopicArn": topic_arn,
                "Message": message,
                "Timestamp": timestamp(),
                "UnsubscribeURL": unsubscribe + (subscription_arn or f"{topic_arn}:unknown"),
            }
        )

    def signed(self, message: dict[str, Any], cert_url: str | None = None) -> dict[str, Any]:
        """`message` with SignatureVersion 2, its Signature and SigningCertURL (the
        simulator's own certificate URL unless told otherwise)."""
        signed = {key: value for key, value in message.items() if key != "Signature"}
        signed["SignatureVersion"] = "2"
        signed["Signature"] = sign(signed, self._signing_key)
        signed["SigningCertURL"] = cert_url or self.signing_cert_url
        return signed

    def publish(
        self, topic_arn: str, message: str, endpoint: str | None = None
    ) -> list[dict[str, Any]]:
        """Deliver `message` to each confirmed subscription of the topic (to `endpoint`
        only, when given, as if it were subscribed); a record per delivery."""
        if endpoint is not None:
            return [self._deliver(endpoint, self.notification(topic_arn, message), None)]
        with self._lock:
            targets = [
                (s.endpoint, s.arn)
                for s in self._subscriptions.values()
                if s.topic_arn == topic_arn and s.confirmed
            ]
        return [
            self._deliver(url, self.notification(topic_arn, message, arn), arn)
            for url, arn in targets
        ]

    def _deliver(
        self, endpoint: str, message: dict[str, Any], subscription_arn: str | None
    ) -> dict[str, Any]:
        """POST one SNS message as SNS does (text/plain JSON, the x-amz-sns-* headers)."""
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": SNS_USER_AGENT,
            "x-amz-sns-message-type": message["Type"],
            "x-amz-sns-message-id": message["MessageId"],
            "x-amz-sns-topic-arn": message["TopicArn"],
        }
        if subscription_arn:
            headers["x-amz-sns-subscription-arn"] = subscription_arn
        record: dict[str, Any] = {"url": endpoint, "message": message}
        try:
            response = self._session.post(
                endpoint, data=json.dumps(message).encode(), headers=headers, timeout=10
            )
            record["status"] = response.status_code
            record["answer"] = response.text[:500]
        except requests.RequestException as exc:
            record["error"] = str(exc)
            log.debug("simulator: sns delivery to %s failed: %s", endpoint, exc)
        return record

    # --- inspection ---

    def subscriptions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(s) for s in self._subscriptions.values()]

    def requests(self) -> list[dict[str, Any]]:
        """Every GET the HTTPS server answered (host, path, query), oldest first."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def reset(self) -> None:
        """Forget the GETs served; subscriptions stay (they are configuration)."""
        with self._lock:
            self._requests.clear()

    def describe(self) -> dict[str, Any]:
        """What `GET /_sim/sns` shows."""
        running = self._server is not None
        return {
            "region": self.account.region,
            "topics": {
                "events": self.account.events_topic,
                "replies": self.account.replies_topic,
            },
            "signing_cert_url": self.signing_cert_url,
            "https_url": self.https_url if running else None,
            "hosts": self.hosts if running else None,
            "ca_pem": self.authority.pem.decode(),
            "subscriptions": self.subscriptions(),
            "requests": self.requests(),
        }


class _HttpsServer(LocalHTTPServer):
    def __init__(self, address: tuple[str, int], sns: Sns, tls: ssl.SSLContext) -> None:
        self.sns = sns
        self.tls = tls
        super().__init__(address, _HttpsHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator: sns https error serving %s", client_address, exc_info=True)


class _HttpsHandler(BaseHTTPRequestHandler):
    """GETs over TLS; the handshake runs in the request's own thread, so a client that
    stalls it holds up nobody else."""

    server: _HttpsServer
    timeout = 10

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def do_GET(self) -> None:
        status, content_type, body = self.server.sns.serve(
            self.headers.get("Host") or "", self.path
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator sns: " + format, *args)
