"""Auth tokens: generated once, shown once, stored only as salted hashes.

Tokens are 256-bit random values, so a salted SHA-256 resists every offline attack a slow
password hash would (there is no dictionary to try), and keeps the authorizer fast.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str, salt: str | None = None) -> dict[str, str]:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(bytes.fromhex(salt) + token.encode()).hexdigest()
    return {"Salt": salt, "Hash": digest}


def token_matches(token: str, stored: Iterable[dict[str, str]]) -> bool:
    """Constant-time comparison against every stored hash (old and new during rotation)."""
    matched = False
    for entry in stored:
        candidate = hash_token(token, entry["Salt"])["Hash"]
        matched |= hmac.compare_digest(candidate, entry["Hash"])
    return matched


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` header, or None if malformed."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user or not password:
        return None
    return user, password
