"""Secure identifiers: a two-letter prefix and 32 hex digits, like AC0123…"""

from __future__ import annotations

import hashlib
import re
import secrets

ACCOUNT_PREFIX = "AC"
PROPERTY_PREFIX = "PR"
MESSAGE_PREFIX = "SM"

SID_PATTERN = re.compile(r"[A-Za-z0-9]{2,64}")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def derived_sid(prefix: str, source: str) -> str:
    """A sid that is the same every time for the same source (e.g. an SQS message id)."""
    return prefix + hashlib.sha256(source.encode()).hexdigest()[:32]


def is_well_formed(sid: str) -> bool:
    return bool(SID_PATTERN.fullmatch(sid))
