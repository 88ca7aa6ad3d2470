"""PageToken: a listing's position, opaque to the caller and bound to its listing."""

from __future__ import annotations

import base64
import binascii
import json


class InvalidPageTokenError(ValueError):
    """A PageToken this API did not issue, or issued for another listing. The text is the
    caller's; the API answers it as a validation error (20008)."""


def encode_page_token(key: dict[str, str]) -> str:
    """A listing's position (a DynamoDB key of strings) as an opaque, URL-safe token."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_page_token(token: str, pk_name: str, partition: str) -> dict[str, str]:
    """The query position in a PageToken; only a token for this very listing is accepted."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidPageTokenError("PageToken is not a token this API issued.") from exc
    if (
        not isinstance(key, dict)
        or not all(isinstance(v, str) for v in key.values())
        or key.get(pk_name) != partition
    ):
        raise InvalidPageTokenError("PageToken does not belong to this listing.")
    return key
