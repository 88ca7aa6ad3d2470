"""Reading the caller and the body of an API Gateway HTTP API request."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from smsgw.errors import ErrorCode, SmsGatewayError, ValidationError


@dataclass(frozen=True, slots=True)
class Caller:
    account_sid: str
    account_sms_enabled: bool


def caller(event: APIGatewayProxyEventV2) -> Caller:
    """The account the authorizer authenticated. It admits unauthenticated requests with
    an empty AccountSid so that this API answers them with its own 401 (see
    docs/decisions.md); every route goes through here."""
    context = (
        (event.request_context.authorizer.get_lambda or {})
        if event.request_context.authorizer
        else {}
    )
    account_sid = context.get("AccountSid") or ""
    if not account_sid:
        raise SmsGatewayError(
            ErrorCode.UNAUTHENTICATED,
            "Authenticate with HTTP Basic auth: your AccountSid as user, AuthToken as password.",
            None,
        )
    return Caller(account_sid=account_sid, account_sms_enabled=_truthy(context.get("SmsEnabled")))


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def json_body(event: APIGatewayProxyEventV2, max_bytes: int) -> tuple[Any, bytes]:
    """The parsed JSON body and its raw bytes; a clear 4xx for anything else."""
    content_type = (event.headers or {}).get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise SmsGatewayError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Send the request body as JSON with Content-Type: application/json.",
            None,
        )
    raw = event.body or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode()
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(
            ErrorCode.INVALID_JSON, "The body could not be decoded.", None
        ) from exc
    if len(data) > max_bytes:
        raise SmsGatewayError(
            ErrorCode.BODY_TOO_LARGE,
            f"The request body is {len(data)} bytes; the limit is {max_bytes}.",
            None,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            ErrorCode.INVALID_JSON,
            "The request body is not UTF-8 text; send JSON encoded as UTF-8.",
            None,
        ) from exc
    try:
        return json.loads(text, parse_constant=_reject_constant), data
    except json.JSONDecodeError as exc:
        # where it breaks, in our words: the parser's own message is no contract
        raise ValidationError(
            ErrorCode.INVALID_JSON,
            f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            None,
        ) from exc
    except ValueError as exc:
        raise ValidationError(
            ErrorCode.INVALID_JSON, "NaN, Infinity and -Infinity are not JSON.", None
        ) from exc


def query_parameters(event: APIGatewayProxyEventV2, allowed: tuple[str, ...]) -> dict[str, str]:
    """A listing's query parameters: each one of `allowed`, and none empty (an empty
    filter is refused, never read as no filter: docs/api.md)."""
    query = event.query_string_parameters or {}
    for name, value in query.items():
        if name not in allowed:
            raise ValidationError(
                ErrorCode.INVALID_QUERY_PARAMETER,
                f"{name} is not a parameter of this listing; use {', '.join(allowed)}.",
                name,
            )
        if not value:
            code = (
                ErrorCode.INVALID_PAGE_TOKEN
                if name == "PageToken"
                else ErrorCode.INVALID_QUERY_PARAMETER
            )
            raise ValidationError(code, f"{name} is empty; leave it out or give a value.", name)
    return query


MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def page_size(query: dict[str, str]) -> int:
    """A listing's PageSize: 1 to 100, 50 when not given."""
    value = query.get("PageSize", str(DEFAULT_PAGE_SIZE))
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise ValidationError(
            ErrorCode.INVALID_QUERY_PARAMETER,
            f"PageSize must be a whole number from 1 to {MAX_PAGE_SIZE}.",
            "PageSize",
        )
    return int(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")
