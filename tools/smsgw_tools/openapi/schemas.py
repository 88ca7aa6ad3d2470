"""The document's components: the security scheme and the schemas, from the code: the send
request from `smsgw.models.send_request` (its fields, the required ones found by asking the parser,
the limits), the resources from their `to_resource`, the error codes from
`smsgw.errors.ErrorCode`."""

from __future__ import annotations

from typing import Any

from smsgw.errors import ErrorCode
from smsgw_tools.openapi.callbacks import callback_schemas

_JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}


def components(template: Any) -> dict[str, Any]:
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
            "Message": _resource_schema(message_example(), _MESSAGE_PROPERTIES),
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
            "Response": _resource_schema(reply_example(), _REPLY_PROPERTIES),
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
            **callback_schemas(),
            "GatewayMessage": {
                "type": "object",
                "required": ["message"],
                "properties": {"message": {"type": "string"}},
            },
        },
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
        if name == "ValidityPeriod":
            schema |= {
                "minimum": send_request.MIN_VALIDITY_PERIOD_SECONDS,
                "maximum": send_request.MAX_VALIDITY_PERIOD_SECONDS,
                "description": _VALIDITY_PERIOD,
            }
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
        if name == "ForwardToSms":
            schema["description"] = (
                "E.164 (21602); not the message's own To nor one of the gateway's pool "
                "numbers, where a forward would come back as a reply (21604)."
            )
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
_VALIDITY_PERIOD = (
    "Seconds the message may wait to be sent, from acceptance or from its Schedule; a "
    "message still unsent then ends failed (30005), and a retry never waits past it. Out of "
    "range or not an integer: 21801."
)
_FIELD_RULES: dict[str, dict[str, Any]] = {
    "From": {
        "description": "E.164 (starts with +), an alphanumeric sender ID (1-11 of A-Z a-z 0-9 "
        "and space, at least one letter), or blank for a leased number."
    },
    "To": {"description": "E.164 with +.", "pattern": r"^\+[1-9][0-9]{1,14}$"},
    "Text": {"minLength": 1, "description": "GSM-7 or UCS-2, detected; segments counted."},
    "SmartEncoding": {
        "description": "Replace punctuation and spaces outside GSM-7 by their GSM-7 "
        "look-alikes before segments are counted; the response's Text is the text sent. "
        "Absent or null: the property's default, false unless the operator turned it on. "
        "Not a boolean: 21901.",
    },
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
    "Text": {
        "type": ["string", "null"],
        "description": "null once redacted (on request or by retention).",
    },
    "Redacted": {
        "type": "boolean",
        "description": "The text (and its replies' text) removed on request, or after the "
        "property's retention period.",
    },
    "Status": {"type": "string"},
    "Segments": {"type": "integer", "minimum": 1},
    "Encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
    "Schedule": {"type": ["integer", "null"]},
    "ValidityPeriod": {"type": ["integer", "null"], "description": "Seconds; null: no limit."},
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
    "Text": {"type": ["string", "null"], "description": "null once its message is redacted."},
    "Redacted": {"type": "boolean"},
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


def message_example() -> dict[str, Any]:
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


def reply_example() -> dict[str, Any]:
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
