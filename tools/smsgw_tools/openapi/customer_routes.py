"""The customer routes' operations: parameters, request body and responses, each error
response listing the codes the route can answer."""

from __future__ import annotations

from typing import Any

from smsgw.errors import ErrorCode
from smsgw_tools.openapi.routes import (
    LIST,
    LIST_FILTERS,
    OPERATION_IDS,
    PAGING,
    RESPONSES,
    ROUTE_ERRORS,
    SEND,
    SUMMARIES,
)


def customer_operation(key: tuple[str, str], authorized: bool) -> dict[str, Any]:
    from smsgw.logic.send_request_use_case import MAX_IDEMPOTENCY_KEY_LENGTH

    operation: dict[str, Any] = {
        "operationId": OPERATION_IDS[key],
        "summary": SUMMARIES[key],
        "parameters": [_path_parameter("PropertySid", "The property (PR…) of your account.")],
    }
    if not authorized:
        operation["security"] = []
    if "{MessageSid}" in key[1]:
        operation["parameters"].append(_path_parameter("MessageSid", "The message (SM…)."))
    if key == SEND:
        operation["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": (
                    "The same key and body within 24 hours returns the first response "
                    "(with `Idempotent-Replayed: true`) and sends nothing; the same key with "
                    "another body is a 409 (23002)."
                ),
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
                },
            }
        )
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SendRequest"}}
            },
        }
        ok = json_response("The message, stored and queued or scheduled.", "MessageEnvelope")
        ok["headers"] = {
            "Idempotent-Replayed": {
                "description": "`true` when this is the stored first response to the key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    elif key == LIST:
        operation["parameters"] += _list_parameters(LIST_FILTERS)
        ok = json_response("A page of messages.", "MessageList")
    elif key == RESPONSES:
        operation["parameters"] += _list_parameters(PAGING)
        ok = json_response("A page of replies.", "ResponseList")
    else:
        ok = json_response("The message.", "MessageEnvelope")
    operation["responses"] = {"200": ok, **error_responses(ROUTE_ERRORS[key], gateway=True)}
    return operation


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _list_parameters(names: tuple[str, ...]) -> list[dict[str, Any]]:
    from smsgw.api.request import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
    from smsgw.models.message import STATUSES

    schemas = {
        "ExternalId": ({"type": "string", "minLength": 1}, "Only messages with this ExternalId."),
        "To": ({"type": "string", "minLength": 1}, "Only messages to this E.164 number."),
        "Status": ({"type": "string", "enum": list(STATUSES)}, "Only messages in this status."),
        "PageSize": (
            {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": DEFAULT_PAGE_SIZE,
            },
            "Items per page.",
        ),
        "PageToken": (
            {"type": "string", "minLength": 1},
            "The NextPageToken of the previous page (bound to its listing).",
        ),
    }
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": schemas[name][1] + " Any other parameter is a 400 (20007).",
            "schema": schemas[name][0],
        }
        for name in names
    ]


def json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def error_responses(codes: tuple[ErrorCode, ...], gateway: bool) -> dict[str, Any]:
    by_status: dict[int, list[ErrorCode]] = {}
    # Out of capacity (503) is the customer API's answer; a carrier's callback fails and is
    # retried by the carrier.
    faults = (
        (ErrorCode.INTERNAL_ERROR, ErrorCode.SERVICE_BUSY)
        if gateway
        else (ErrorCode.INTERNAL_ERROR,)
    )
    for code in (*codes, *faults):
        by_status.setdefault(code.http_status, []).append(code)
    responses: dict[str, Any] = {}
    for status in sorted(by_status):
        numbers = [code.number for code in by_status[status]]
        schema: dict[str, Any] = {
            "allOf": [
                {"$ref": "#/components/schemas/Error"},
                {
                    "type": "object",
                    "properties": {
                        "Error": {
                            "type": "object",
                            "properties": {"Code": {"type": "integer", "enum": numbers}},
                        }
                    },
                },
            ]
        }
        description = "; ".join(f"{c.number} {c.name}" for c in by_status[status])
        if gateway and status == 401:
            schema = {"anyOf": [schema, {"$ref": "#/components/schemas/GatewayMessage"}]}
            description += " (no Authorization header at all: API Gateway's own answer)"
        responses[str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
        if status == ErrorCode.SERVICE_BUSY.http_status:
            responses[str(status)]["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer"},
                }
            }
    if gateway:
        responses["429"] = {
            "description": "Over the stage's throttling limit (API Gateway's own answer).",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}
            },
        }
    return dict(sorted(responses.items()))
