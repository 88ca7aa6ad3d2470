"""What the HTTP carrier adapters share: one pooled session, the question "could the
carrier have received it?", Retry-After, and reading callback parameters."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from smsgw import explanations
from smsgw.models.carrier import CallbackRejectedError, CarrierError, OutcomeUnknownError

# Failures raised before a byte of the request could reach the carrier.
_NOT_SENT = (
    requests.ConnectTimeout,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)


def new_session() -> requests.Session:
    session = requests.Session()
    # Senders submit concurrently from threads; keep enough pooled connections for them.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def request_failure(carrier: str, exc: requests.RequestException) -> Exception:
    """Translate a failed request: did the carrier possibly receive the message?"""
    if isinstance(exc, _NOT_SENT) or never_connected(exc):
        return CarrierError(f"{carrier} unreachable: {exc}", permanent=False)
    detail = (
        explanations.CARRIER_TIMED_OUT
        if isinstance(exc, requests.ReadTimeout)
        else explanations.CARRIER_CONNECTION_LOST
        if isinstance(exc, requests.ConnectionError)
        else explanations.CARRIER_OUTCOME_UNKNOWN
    )
    return OutcomeUnknownError(f"{carrier} outcome unknown: {exc}", detail=detail)


def never_connected(exc: requests.RequestException) -> bool:
    """True when no connection was established (refused, DNS failure, connect timeout)."""
    cause = exc.args[0] if exc.args else None
    # requests wraps urllib3's MaxRetryError, whose `reason` is the socket-level error.
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def required(params: Mapping[str, str], name: str, carrier: str) -> str:
    value = params.get(name)
    if not value:
        raise CallbackRejectedError(f"{carrier} callback without {name}")
    return value


def int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
