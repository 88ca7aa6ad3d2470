"""The carrier callbacks' operations (`/v1/Carriers/{Carrier}/Receipts|Responses`, on the
webhooks function's URL) and the schemas of their answers, from the code that answers them
(`smsgw.api.carrier_callbacks`)."""

from __future__ import annotations

from typing import Any

from smsgw_tools.openapi.customer_routes import error_responses
from smsgw_tools.openapi.routes import CALLBACK_ERRORS

CALLBACK_SERVER = {
    "url": "https://{function_url}",
    "description": "The webhooks function's URL (or the PublicBaseUrl in front of it)",
    "variables": {"function_url": {"default": "abc123.lambda-url.us-east-1.on.aws"}},
}


def callback_operation(method: str, kind: str, template: Any) -> dict[str, Any]:
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
        **error_responses(CALLBACK_ERRORS[kind], gateway=False),
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


def callback_schemas() -> dict[str, Any]:
    """The carrier callbacks' 200 bodies, their values from the code that answers them."""
    from smsgw.api.carrier_callbacks import SUBSCRIPTION_CONFIRMED
    from smsgw.logic import receipts, replies

    return {
        "ReceiptHandled": _callback_answer("Receipt", list(receipts.ReceiptResult)),
        "ReplyHandled": _callback_answer("Reply", list(replies.ReplyResult)),
        "SubscriptionConfirmed": _callback_answer("Subscription", [SUBSCRIPTION_CONFIRMED]),
    }
