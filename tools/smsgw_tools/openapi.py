"""The public API's OpenAPI 3.1 document, generated from the code and template.yaml.

`smsgw openapi [--output docs/openapi.json]` writes it; `tests/unit/test_openapi.py` fails
when the committed document differs from what the code generates. Nothing here is typed
twice: routes (method, path, authorizer) come from the template, the send request from
`smsgw.models.send_request`, the resources from their `to_resource`, the error codes from
`smsgw.errors.ErrorCode`, the limits from the modules that enforce them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from smsgw.errors import ErrorCode

SEND = ("POST", "/v1/Properties/{PropertySid}/Sms")
LIST = ("GET", "/v1/Properties/{PropertySid}/Sms")
GET = ("GET", "/v1/Properties/{PropertySid}/Sms/{MessageSid}")
CANCEL = ("DELETE", "/v1/Properties/{PropertySid}/Sms/{MessageSid}")
RESPONSES = ("GET", "/v1/Properties/{PropertySid}/Sms/{MessageSid}/Responses")

_E = ErrorCode
_REQUEST_BODY_ERRORS = (
    _E.UNSUPPORTED_MEDIA_TYPE,
    _E.BODY_TOO_LARGE,
    _E.INVALID_JSON,
    _E.BODY_NOT_OBJECT,
    _E.UNKNOWN_PARAMETER,
    _E.INVALID_TYPE,
)
_FIELD_ERRORS = tuple(code for code in ErrorCode if 21000 <= code.number < 22000)
# The error codes each route can answer (besides 29001, which any route can).
ROUTE_ERRORS: dict[tuple[str, str], tuple[ErrorCode, ...]] = {
    SEND: (
        _E.UNAUTHENTICATED,
        _E.PROPERTY_NOT_FOUND,
        _E.ACCOUNT_SMS_DISABLED,
        _E.PROPERTY_SMS_DISABLED,
        *_REQUEST_BODY_ERRORS,
        *_FIELD_ERRORS,
        _E.NO_LEASED_NUMBER_AVAILABLE,
        _E.LEASE_LIMIT_REACHED,
        _E.RECIPIENT_OPTED_OUT,
        _E.IDEMPOTENCY_KEY_INVALID,
        _E.IDEMPOTENCY_KEY_REUSED,
        _E.IDEMPOTENCY_REQUEST_IN_PROGRESS,
    ),
    LIST: (
        _E.UNAUTHENTICATED,
        _E.PROPERTY_NOT_FOUND,
        _E.INVALID_QUERY_PARAMETER,
        _E.INVALID_PAGE_TOKEN,
    ),
    GET: (_E.UNAUTHENTICATED, _E.PROPERTY_NOT_FOUND, _E.MESSAGE_NOT_FOUND),
    CANCEL: (
        _E.UNAUTHENTICATED,
        _E.PROPERTY_NOT_FOUND,
        _E.MESSAGE_NOT_FOUND,
        _E.MESSAGE_NOT_CANCELLABLE,
    ),
    RESPONSES: (
        _E.UNAUTHENTICATED,
        _E.PROPERTY_NOT_FOUND,
        _E.MESSAGE_NOT_FOUND,
        _E.INVALID_QUERY_PARAMETER,
        _E.INVALID_PAGE_TOKEN,
    ),
}
_CALLBACK_ERRORS = (_E.CARRIER_NOT_FOUND, _E.CALLBACK_SIGNATURE_INVALID)
CALLBACK_ERRORS = {
    "Receipts": (*_CALLBACK_ERRORS, _E.RECEIPT_INVALID),
    "Responses": (*_CALLBACK_ERRORS, _E.RECEIPT_INVALID, _E.REPLY_INVALID),
}
# The list route's filters (smsgw.api.message_routes.list_sms) and the replies route's paging.
LIST_FILTERS = ("ExternalId", "To", "Status", "PageSize", "PageToken")
PAGING = ("PageSize", "PageToken")

_JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}
_SUMMARIES = {
    SEND: "Send or schedule one SMS",
    LIST: "List messages, newest first",
    GET: "Get a message, its status and its event history",
    CANCEL: "Cancel a scheduled or queued message",
    RESPONSES: "List the replies received on the message's lease",
}
_OPERATION_IDS = {
    SEND: "SendSms",
    LIST: "ListSms",
    GET: "GetSms",
    CANCEL: "CancelSms",
    RESPONSES: "ListResponses",
}


CALLBACK_SERVER = {
    "url": "https://{function_url}",
    "description": "The webhooks function's URL (or the PublicBaseUrl in front of it)",
    "variables": {"function_url": {"default": "abc123.lambda-url.us-east-1.on.aws"}},
}


def build(template: Any = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `template` (default: the repo's)."""
    if template is None:
        from smsgw_tools.local import template as sam_template

        template = sam_template.load()
    from smsgw.api.carrier_callbacks import CALLBACK_ROUTES

    paths: dict[str, dict[str, Any]] = {}
    routes = [(r.method, r.path, r.authorizer is not None) for r in template.routes]
    # The carrier callbacks are served on the webhooks function's URL, not the HTTP API.
    routes += [(method, path, False) for method, path in CALLBACK_ROUTES]
    for method, path, authorized in sorted(
        routes, key=lambda r: (r[1], _METHOD_ORDER.get(r[0], 9))
    ):
        key = (method, path)
        if key in ROUTE_ERRORS:
            operation = _customer_operation(key, authorized=authorized)
        elif path.startswith("/v1/Carriers/{Carrier}/"):
            operation = _callback_operation(method, path.rsplit("/", 1)[1], template)
            operation["servers"] = [CALLBACK_SERVER]
        else:
            raise ValueError(f"the OpenAPI generator does not know the route {key}")
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsgw: a programmable SMS API",
            "version": "1",
            "description": (
                "Generated from the code by `smsgw openapi`; do not edit by hand. "
                "The request rules are in docs/api.md, every error code in docs/errors.md."
            ),
        },
        "servers": [{"url": "https://{api}", "variables": {"api": {"default": "api.example.com"}}}],
        "security": [{"BasicAuth": []}],
        "paths": paths,
        "components": _components(template),
    }


_METHOD_ORDER = {"GET": 0, "POST": 1, "DELETE": 2}


def documented_errors(document: dict[str, Any], method: str, path: str) -> dict[int, set[int]]:
    """The error codes the document lists for a route, by HTTP status."""
    found: dict[int, set[int]] = {}

    def codes(schema: Any) -> set[int]:
        if isinstance(schema, list):
            return set().union(*(codes(item) for item in schema))
        if not isinstance(schema, dict):
            return set()
        code = (schema.get("properties") or {}).get("Error", {}).get("properties", {}).get("Code")
        own = set(code["enum"]) if code and "enum" in code else set()
        nested = [v for k, v in schema.items() if k in ("allOf", "anyOf", "oneOf")]
        return own | codes(nested)

    operation = document["paths"][path][method.lower()]
    for status, response in operation["responses"].items():
        schema = (response.get("content") or {}).get("application/json", {}).get("schema")
        # The generic Error schema (every code) is a $ref; the route's own list is inline.
        numbers = codes(schema)
        if numbers:
            found[int(status)] = numbers
    return found


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# ----- Customer routes ------------------------------------------------------------------


def _customer_operation(key: tuple[str, str], authorized: bool) -> dict[str, Any]:
    from smsgw.api import message_routes

    operation: dict[str, Any] = {
        "operationId": _OPERATION_IDS[key],
        "summary": _SUMMARIES[key],
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
                    "maxLength": message_routes.MAX_IDEMPOTENCY_KEY_LENGTH,
                },
            }
        )
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SendRequest"}}
            },
        }
        ok = _json_response("The message, stored and queued or scheduled.", "MessageEnvelope")
        ok["headers"] = {
            "Idempotent-Replayed": {
                "description": "`true` when this is the stored first response to the key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    elif key == LIST:
        operation["parameters"] += _list_parameters(LIST_FILTERS)
        ok = _json_response("A page of messages.", "MessageList")
    elif key == RESPONSES:
        operation["parameters"] += _list_parameters(PAGING)
        ok = _json_response("A page of replies.", "ResponseList")
    else:
        ok = _json_response("The message.", "MessageEnvelope")
    operation["responses"] = {"200": ok, **_error_responses(ROUTE_ERRORS[key], gateway=True)}
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


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _error_responses(codes: tuple[ErrorCode, ...], gateway: bool) -> dict[str, Any]:
    by_status: dict[int, list[ErrorCode]] = {}
    # Out of capacity (503) is the customer API's answer; a carrier's callback fails and is
    # retried by the carrier.
    faults = (ErrorCode.INTERNAL_ERROR, ErrorCode.SERVICE_BUSY) if gateway else (_E.INTERNAL_ERROR,)
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


# ----- Carrier callbacks ----------------------------------------------------------------


def _callback_operation(method: str, kind: str, template: Any) -> dict[str, Any]:
    carriers = template.parameters.get("Carrier", {}).get("AllowedValues") or []
    form = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "The carrier's own callback parameters (e.g. Twilio's MessageSid, "
        "MessageStatus, From, To, Body).",
    }
    operation: dict[str, Any] = {
        "operationId": f"{method.title()}Carrier{kind}",
        "summary": (
            "A carrier delivery receipt" if kind == "Receipts" else "An inbound SMS (a reply)"
        )
        + ", verified by the carrier's signature",
        "security": [],
        "parameters": [
            {
                "name": "Carrier",
                "in": "path",
                "required": True,
                "description": "The carrier this deployment uses (template parameter Carrier).",
                "schema": {"type": "string", "enum": carriers},
            },
            {
                "name": "X-Twilio-Signature",
                "in": "header",
                "required": False,
                "description": "The carrier's signature: Twilio's header (shown) of the URL "
                "it called and its parameters; Vonage signs in its parameters (`sig`, with "
                "`timestamp`), SNS (End User Messaging) in its message (`Signature`). Without "
                "a valid one the callback is a 403 (24001) and nothing is stored.",
                "schema": {"type": "string"},
            },
        ],
    }
    if method == "POST":
        operation["requestBody"] = {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {"schema": form},
                "application/json": {
                    "schema": {"type": "object", "description": "Vonage's JSON callbacks."}
                },
                "text/plain": {
                    "schema": {
                        "type": "string",
                        "description": "End User Messaging: the SNS message (JSON), posted "
                        "as SNS posts it.",
                    }
                },
            },
        }
    else:
        operation["parameters"].append(
            {
                "name": "params",
                "in": "query",
                "required": False,
                "style": "form",
                "explode": True,
                "schema": form,
            }
        )
    operation["responses"] = {
        "200": _callback_ok(kind),
        **_error_responses(CALLBACK_ERRORS[kind], gateway=False),
    }
    operation["responses"]["500"]["description"] += (
        " (End User Messaging: SNS could not be reached to confirm a subscription; SNS sends "
        "the confirmation again)"
    )
    return operation


def _callback_ok(kind: str) -> dict[str, Any]:
    """A callback's 200: what the carrier's callback was (a receipt or a reply), or an SNS
    subscription confirmation (End User Messaging), as `smsgw.api.carrier_callbacks`
    answers it."""
    from smsgw.api.carrier_callbacks import EMPTY_TWIML

    confirmed = {"$ref": "#/components/schemas/SubscriptionConfirmed"}
    if kind == "Receipts":
        return {
            "description": "The receipt was verified and handled: applied (the status moved), "
            "recorded (late or repeated: history only), ignored (an intermediate carrier "
            "status) or unmatched (no such message: stored aside). End User Messaging: a "
            "verified SNS SubscriptionConfirmation, now confirmed.",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [{"$ref": "#/components/schemas/ReceiptHandled"}, confirmed]
                    }
                }
            },
        }
    return {
        "description": "The reply was verified and stored (or acknowledged: no live lease, or "
        "the carrier's retry). Twilio: an empty TwiML answer (`text/xml`, no auto-reply). "
        "Vonage and End User Messaging: `application/json`, routed (forwards queued), "
        "stored, unmatched (no live lease: stored aside) or duplicate; End User Messaging's "
        "verified SNS SubscriptionConfirmation is confirmed.",
        "content": {
            "text/xml": {"schema": {"type": "string"}, "example": EMPTY_TWIML},
            "application/json": {
                "schema": {"oneOf": [{"$ref": "#/components/schemas/ReplyHandled"}, confirmed]}
            },
        },
    }


def _callback_answer(name: str, values: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name],
        "properties": {name: {"type": "string", "enum": values}},
        "additionalProperties": False,
    }


# ----- Schemas --------------------------------------------------------------------------


def _components(template: Any) -> dict[str, Any]:
    return {
        "securitySchemes": {
            "BasicAuth": {
                "type": "http",
                "scheme": "basic",
                "description": "User: your AccountSid; password: your AuthToken.",
            }
        },
        "schemas": {
            "SendRequest": send_request_schema(template),
            "Message": _resource_schema(_message_example(), _MESSAGE_PROPERTIES),
            "MessageEnvelope": {
                "type": "object",
                "required": ["Message"],
                "properties": {"Message": {"$ref": "#/components/schemas/Message"}},
            },
            "MessageList": {
                "type": "object",
                "required": ["Messages", "NextPageToken"],
                "properties": {
                    "Messages": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Message"},
                    },
                    "NextPageToken": {"type": ["string", "null"]},
                },
            },
            "Response": _resource_schema(_reply_example(), _REPLY_PROPERTIES),
            "ResponseList": {
                "type": "object",
                "required": ["MessageSid", "Lease", "Responses", "NextPageToken"],
                "properties": {
                    "MessageSid": {"type": "string"},
                    "Lease": _LEASE,
                    "Responses": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Response"},
                    },
                    "NextPageToken": {"type": ["string", "null"]},
                },
            },
            "Error": error_schema(),
            **_callback_schemas(),
            "GatewayMessage": {
                "type": "object",
                "required": ["message"],
                "properties": {"message": {"type": "string"}},
            },
        },
    }


def _callback_schemas() -> dict[str, Any]:
    """The carrier callbacks' 200 bodies, their values from the code that answers them."""
    from smsgw.api.carrier_callbacks import SUBSCRIPTION_CONFIRMED
    from smsgw.logic import receipts, replies

    return {
        "ReceiptHandled": _callback_answer(
            "Receipt", [receipts.APPLIED, receipts.RECORDED, receipts.IGNORED, receipts.UNMATCHED]
        ),
        "ReplyHandled": _callback_answer(
            "Reply", [replies.ROUTED, replies.STORED, replies.UNMATCHED, replies.DUPLICATE]
        ),
        "SubscriptionConfirmed": _callback_answer("Subscription", [SUBSCRIPTION_CONFIRMED]),
    }


def error_schema() -> dict[str, Any]:
    """`{"Error": {"Code", "Message", "Parameter"}}`, Code one of ErrorCode's numbers."""
    return {
        "type": "object",
        "required": ["Error"],
        "additionalProperties": False,
        "properties": {
            "Error": {
                "type": "object",
                "required": ["Code", "Message", "Parameter"],
                "additionalProperties": False,
                "properties": {
                    "Code": {
                        "type": "integer",
                        "enum": [code.number for code in ErrorCode],
                        "description": "Stable; listed in docs/errors.md.",
                    },
                    "Message": {"type": "string", "minLength": 1},
                    "Parameter": {"type": ["string", "null"]},
                },
            }
        },
    }


def send_request_schema(template: Any) -> dict[str, Any]:
    """The send request, from `smsgw.models.send_request`: its fields and types, the required
    ones (found by asking the parser), the lease-only options and the limits."""
    from smsgw.kernel import addresses
    from smsgw.models import send_request

    limits = _send_limits(template)
    required = _required_fields()
    properties: dict[str, Any] = {}
    for name, kind in send_request.field_types().items():
        # null counts as absent: allowed for an optional field, a *_REQUIRED error otherwise.
        schema: dict[str, Any] = {
            "type": _JSON_TYPES[kind] if name in required else [_JSON_TYPES[kind], "null"]
        }
        schema |= _FIELD_RULES.get(name, {})
        if name == "Schedule":
            schema["description"] = _SCHEDULE.format(
                ahead=send_request.MAX_SCHEDULE_AHEAD_SECONDS,
                behind=send_request.MAX_SCHEDULE_BEHIND_SECONDS,
            )
        if name.endswith("WebhookUri"):
            schema |= {"format": "uri", "maxLength": addresses.MAX_URI_LENGTH}
        if name.endswith("WebhookMethod"):
            schema |= {
                "enum": [*send_request.METHODS, None],
                "description": f"Case-insensitive; default {send_request.METHODS[0]}.",
            }
        if name == "Text":
            schema["maxLength"] = limits["max_text_characters"]
        if name == "ExternalId":
            schema["maxLength"] = send_request.MAX_EXTERNAL_ID_LENGTH
        if name in send_request.LEASE_OPTIONS:
            schema["description"] = (
                schema.get("description", "") + " Lease-only: with a From that is not blank, "
                "a 400 (21601)."
            ).strip()
        properties[name] = schema
    return {
        "type": "object",
        "description": (
            "null counts as absent, and so does an empty string for the optional strings. "
            "Any other field is a 400 (20003). Body at most "
            f"{limits['max_body_bytes']} bytes (413)."
        ),
        "required": required,
        "additionalProperties": False,
        "properties": properties,
        "examples": [{"From": "+61499009990", "To": "+61488023555", "Text": "Hello"}],
    }


_SCHEDULE = (
    "Unix seconds: at most {ahead} s ahead (21401), less than {behind} s in the past (21402; "
    "in the past by less is sent now)."
)
_FIELD_RULES: dict[str, dict[str, Any]] = {
    "From": {
        "description": "E.164 (starts with +), an alphanumeric sender ID (1-11 of A-Z a-z 0-9 "
        "and space, at least one letter), or blank for a leased number."
    },
    "To": {"description": "E.164 with +.", "pattern": r"^\+[1-9][0-9]{1,14}$"},
    "Text": {"minLength": 1, "description": "GSM-7 or UCS-2, detected; segments counted."},
    "DeliveryReceipt": {"default": True},
    "ForwardToEmail": {"format": "email", "maxLength": 254},
    "ForwardFromEmail": {"format": "email", "maxLength": 254},
}


def _send_limits(template: Any) -> dict[str, int]:
    """The API function's limits: its settings as its template environment makes them."""
    from smsgw.config import Settings

    function = template.functions.get("ApiFunction")
    environment = function.environment if function else {}
    settings = Settings.from_env({k: v for k, v in environment.items() if isinstance(v, str)})
    return {
        "max_text_characters": settings.max_text_characters,
        "max_body_bytes": settings.max_body_bytes,
    }


def _required_fields() -> list[str]:
    """Ask the parser which fields it requires: feed it an empty body and fill in each
    field it reports missing (a *_REQUIRED error) with a valid example."""
    from smsgw.errors import ValidationError
    from smsgw.models.send_request import parse_send_request

    examples = {"To": "+61488023555", "Text": "Hello", "From": "+61499009990"}
    body: dict[str, Any] = {}
    required: list[str] = []
    for _ in range(len(examples) + 1):
        try:
            parse_send_request(body, now=0)
        except ValidationError as error:
            if not error.code.name.endswith("_REQUIRED") or error.parameter in required:
                raise
            required.append(error.parameter)
            body[error.parameter] = examples[error.parameter]
            continue
        return required
    raise AssertionError("the send request requires more fields than the generator knows")


# The resources' properties, typed; their names come from `to_resource` (a key missing
# here gets an untyped schema, so a new one still appears in the document).
_LEASE = {
    "type": ["object", "null"],
    "required": ["Number", "ExpiresAt"],
    "properties": {"Number": {"type": "string"}, "ExpiresAt": {"type": "string"}},
}
_STRING = {"type": "string"}
_OPTIONAL_STRING = {"type": ["string", "null"]}
_MESSAGE_PROPERTIES: dict[str, Any] = {
    "MessageSid": _STRING,
    "AccountSid": _STRING,
    "PropertySid": _STRING,
    "From": {"type": "string", "description": "The real leased number when leased."},
    "To": _STRING,
    "Text": _STRING,
    "Status": {"type": "string"},
    "Segments": {"type": "integer", "minimum": 1},
    "Encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
    "Schedule": {"type": ["integer", "null"]},
    "ExternalId": _OPTIONAL_STRING,
    "DeliveryReceipt": {"type": "boolean"},
    "DeliveryReceiptWebhookUri": _OPTIONAL_STRING,
    "DeliveryReceiptWebhookMethod": {"type": "string"},
    "ErrorCode": {"type": ["integer", "null"]},
    "ErrorMessage": _OPTIONAL_STRING,
    "DateCreated": {"type": "string", "description": "ISO 8601 UTC with milliseconds."},
    "DateSent": _OPTIONAL_STRING,
    "DateFinal": _OPTIONAL_STRING,
    "Lease": _LEASE,
    "Events": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["Status", "Timestamp"],
            "properties": {"Status": {"type": "string"}, "Timestamp": {"type": "string"}},
        },
    },
}
_REPLY_PROPERTIES: dict[str, Any] = {
    "ReplySid": _STRING,
    "MessageSid": _OPTIONAL_STRING,
    "AccountSid": _OPTIONAL_STRING,
    "PropertySid": _OPTIONAL_STRING,
    "From": {"type": "string", "description": "The recipient who replied."},
    "To": {"type": "string", "description": "The leased number."},
    "Text": _STRING,
    "DateReceived": _STRING,
    "Keyword": {"type": ["string", "null"], "enum": ["opt_out", "opt_in", None]},
}


def _resource_schema(example: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    from smsgw.models.message import STATUSES

    properties = {name: dict(typed.get(name, {})) for name in example}
    if "Status" in properties and "Segments" in properties:
        properties["Status"]["enum"] = list(STATUSES)
    return {
        "type": "object",
        "required": list(example),
        "properties": properties,
    }


def _message_example() -> dict[str, Any]:
    from smsgw.models.message import Message

    return Message(
        message_sid="SM",
        account_sid="AC",
        property_sid="PR",
        sender="+61499009990",
        sender_type="e164",
        to="+61488023555",
        text="Hello",
        status="queued",
        segments=1,
        encoding="GSM-7",
        date_created="2026-01-01T00:00:00.000Z",
    ).to_resource()


def _reply_example() -> dict[str, Any]:
    from smsgw.models.lease import Reply

    return Reply(
        reply_sid="RS",
        responder="+61488023555",
        number="+61400000001",
        text="Hi",
        received_at="2026-01-01T00:00:00.000Z",
        carrier="twilio",
        carrier_sid="SM",
    ).to_resource()


# ----- Command --------------------------------------------------------------------------


def register(commands: Any) -> None:
    """`smsgw openapi [--output PATH]`."""
    parser = commands.add_parser("openapi", help="write the API's OpenAPI 3.1 document")
    parser.add_argument(
        "--output", default="docs/openapi.json", help="where to write it ('-' for stdout)"
    )
    parser.set_defaults(func=_command)


def _command(args: argparse.Namespace) -> int:
    text = render(build())
    if args.output == "-":
        print(text, end="")
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0
