"""HTTP delivery of customer webhooks, to public addresses only.

The host is resolved once, every address it resolves to is checked (loopback, private,
link-local, multicast and cloud-metadata addresses are refused unless
WEBHOOK_ALLOWED_NETWORKS allows them), and the connection goes to the checked address
itself, so a DNS answer that changes between the check and the connect (DNS rebinding)
cannot redirect it. The Host header and the TLS server name (SNI and certificate check)
stay the URI's host name. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import certifi
import urllib3

from smsgw import explanations
from smsgw.kernel.addresses import is_internal_address
from smsgw.logic.webhook_delivery import DeliveryError, DestinationRefusedError, HttpRequest

CONNECT_TIMEOUT_SECONDS = 3.0
TOTAL_TIMEOUT_SECONDS = 10.0
USER_AGENT = "smsgw-webhooks/1"
_DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[..., list]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def resolve_checked(
    host: str,
    port: int,
    allowed_networks: Sequence[Network] = (),
    resolver: Resolver = socket.getaddrinfo,
) -> str:
    """The address to connect to for `host`; DestinationRefusedError if any address it
    resolves to is internal (a name with one internal address is refused outright)."""
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DeliveryError(
            f"cannot resolve {host}: {exc}", detail=explanations.WEBHOOK_HOST_UNKNOWN
        ) from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise DeliveryError(f"{host} has no address", detail=explanations.WEBHOOK_HOST_UNKNOWN)
    for address in addresses:
        if is_internal_address(address.split("%", 1)[0], tuple(allowed_networks)):
            raise DestinationRefusedError(
                f"{host} resolves to {address}, an internal address webhooks may not reach"
            )
    return addresses[0]


class WebhookClient:
    """Sends one webhook request to a checked, pinned address; returns the HTTP status."""

    def __init__(
        self,
        allowed_networks: Sequence[Network] = (),
        *,
        resolver: Resolver | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        total_timeout: float = TOTAL_TIMEOUT_SECONDS,
    ) -> None:
        self._allowed = tuple(allowed_networks)
        self._resolver = resolver or socket.getaddrinfo
        self._timeout = urllib3.Timeout(
            connect=connect_timeout, read=total_timeout, total=total_timeout
        )

    def __call__(self, request: HttpRequest) -> int:
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        if parts.scheme not in _DEFAULT_PORTS or not host:
            raise DestinationRefusedError(
                f"not an http(s) URI: {request.url}", detail=explanations.WEBHOOK_URI_UNUSABLE
            )
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError as exc:
            raise DestinationRefusedError(
                f"invalid port in {request.url}", detail=explanations.WEBHOOK_URI_UNUSABLE
            ) from exc
        address = resolve_checked(host, port, self._allowed, self._resolver)
        host_header = host if ":" not in host else f"[{host}]"
        if parts.port and parts.port != _DEFAULT_PORTS[parts.scheme]:
            host_header = f"{host_header}:{parts.port}"
        headers = {"host": host_header, "user-agent": USER_AGENT, **request.headers}
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        pool = self._pool(parts.scheme, address, port, host)
        try:
            response = pool.urlopen(
                request.method,
                path,
                body=request.body.encode() if request.body else None,
                headers=headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", detail=_cause(exc)) from exc
        finally:
            pool.close()
        status = response.status
        response.release_conn()
        return status

    def _pool(self, scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        if scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=self._timeout,
                maxsize=1,
                server_hostname=host,
                assert_hostname=host,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
            )
        return urllib3.HTTPConnectionPool(address, port, timeout=self._timeout, maxsize=1)


def _cause(exc: urllib3.exceptions.HTTPError) -> str:
    """The attempt's sentence for what urllib3 raised (its own retries are off, so the
    error is the socket's, not a MaxRetryError)."""
    errors = urllib3.exceptions
    if isinstance(exc, errors.SSLError):
        return explanations.WEBHOOK_TLS_FAILED
    if isinstance(exc, errors.NewConnectionError):  # before its base, ConnectTimeoutError
        return explanations.WEBHOOK_CONNECTION_REFUSED
    if isinstance(exc, errors.TimeoutError):  # connect or read timeout
        return explanations.WEBHOOK_TIMED_OUT
    return explanations.WEBHOOK_CONNECTION_FAILED
