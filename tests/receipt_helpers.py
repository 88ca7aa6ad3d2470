"""Helpers for delivery-receipt and webhook tests (no fixtures here; plain functions)."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from smsgw.carriers.twilio import SIGNATURE_HEADER, signature
from tests.support import sqs_records  # noqa: F401  (re-exported for the receipt tests)


def twilio_receipt_event(
    url: str,
    form: dict[str, str],
    token: str,
    *,
    method: str = "POST",
    signed: bool = True,
    base64_body: bool = False,
    signature_value: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (v2) event of a Twilio status callback to `url`, signed with
    `token` the way Twilio signs (URL + sorted form parameters, HMAC-SHA1)."""
    parts = urlsplit(url)
    query = parts.query
    body = ""
    if method == "POST":
        body = urlencode(form)
        signed_params = list(form.items())
    else:
        query = "&".join(filter(None, [query, urlencode(form)]))
        signed_params = []
    full_url = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
    headers = {
        "host": parts.netloc,
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "TwilioProxy/1.1",
    }
    if signed:
        headers[SIGNATURE_HEADER.lower()] = signature_value or signature(
            token, full_url, signed_params
        )
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} /v1/Carriers/{{Carrier}}/Receipts",
        "rawPath": parts.path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": parts.netloc,
            "domainPrefix": parts.netloc.split(".", 1)[0],
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "54.172.60.1",
                "userAgent": "TwilioProxy/1.1",
            },
            "requestId": "receipt-request",
            "routeKey": f"{method} /v1/Carriers/{{Carrier}}/Receipts",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "pathParameters": {
            "Carrier": parts.path.split("/")[3] if parts.path.count("/") > 3 else ""
        },
        "isBase64Encoded": base64_body,
    }
    if query:
        event["queryStringParameters"] = dict(
            pair.split("=", 1) if "=" in pair else (pair, "") for pair in query.split("&")
        )
    if body:
        event["body"] = base64.b64encode(body.encode()).decode() if base64_body else body
    return event


def receipt_form(
    carrier_sid: str,
    status: str,
    *,
    to: str = "+61488023555",
    sender: str = "+61499009990",
    error_code: int | None = None,
    account_sid: str = "AC" + "simulator".ljust(32, "0"),
) -> dict[str, str]:
    """The form Twilio posts to a StatusCallback."""
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "From": sender,
        "To": to,
        "MessageSid": carrier_sid,
        "SmsSid": carrier_sid,
        "MessageStatus": status,
        "SmsStatus": status,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form
