"""The single place where errors become HTTP responses."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from smsgw.errors import SmsGatewayError

JSON = "application/json"


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=headers or {},
    )


def error_response(error: SmsGatewayError) -> Response:
    return json_response(error.code.http_status, error.to_dict())
