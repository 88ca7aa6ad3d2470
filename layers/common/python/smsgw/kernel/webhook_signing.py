"""Standard Webhooks signatures (https://www.standardwebhooks.com/) for customer callbacks.

Headers: `webhook-id` (stable per event, so a retried delivery can be de-duplicated),
`webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`: space-separated
`v1,<base64 HMAC-SHA256>` signatures, one per active secret of the property, over
`"{webhook-id}.{webhook-timestamp}.{body}"`. The key is the base64-decoded part of the
secret after the `whsec_` prefix. For a GET callback, `body` is the request's raw query
string (everything after `?`), so the fields the customer reads are the ones signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SIGNATURE_VERSION = "v1"
SECRET_BYTES = 32
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """One `v1,<base64>` signature of the signed content with `secret`."""
    content = f"{webhook_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(secrets_: Iterable[str], webhook_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: a signature per secret, space-separated (during a
    rotation the old and the new secret both sign)."""
    return " ".join(sign(secret, webhook_id, timestamp, body) for secret in secrets_)


def headers(secrets_: Iterable[str], webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, webhook_id, timestamp, body),
    }


def verify(
    secret: str,
    request_headers: Mapping[str, str],
    body: str,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when one of the `v1` signatures is `secret`'s and the timestamp is fresh."""
    lowered = {name.lower(): value for name, value in request_headers.items()}
    webhook_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    if not webhook_id or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance_seconds:
        return False
    expected = sign(secret, webhook_id, int(timestamp), body).encode()
    return any(
        hmac.compare_digest(candidate.encode(), expected)
        for candidate in lowered.get("webhook-signature", "").split()
    )
