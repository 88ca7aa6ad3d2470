"""The API's routes as the OpenAPI document lists them: each customer route's key, name,
summary and the error codes it can answer, and the carrier callbacks' error codes."""

from __future__ import annotations

from smsgw.errors import ErrorCode

SEND = ("POST", "/v1/Properties/{PropertySid}/Sms")
LIST = ("GET", "/v1/Properties/{PropertySid}/Sms")
GET = ("GET", "/v1/Properties/{PropertySid}/Sms/{MessageSid}")
CANCEL = ("DELETE", "/v1/Properties/{PropertySid}/Sms/{MessageSid}")
RESPONSES = ("GET", "/v1/Properties/{PropertySid}/Sms/{MessageSid}/Responses")
REDACT = ("POST", "/v1/Properties/{PropertySid}/Sms/{MessageSid}/Redact")

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
    REDACT: (
        _E.UNAUTHENTICATED,
        _E.PROPERTY_NOT_FOUND,
        _E.MESSAGE_NOT_FOUND,
        _E.MESSAGE_NOT_REDACTABLE,
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
SUMMARIES = {
    SEND: "Send or schedule one SMS",
    LIST: "List messages, newest first",
    GET: "Get a message, its status and its event history",
    CANCEL: "Cancel a scheduled or queued message",
    RESPONSES: "List the replies received on the message's lease",
    REDACT: "Remove the text of a final message and of its replies",
}
OPERATION_IDS = {
    SEND: "SendSms",
    LIST: "ListSms",
    GET: "GetSms",
    CANCEL: "CancelSms",
    RESPONSES: "ListResponses",
    REDACT: "RedactSms",
}
METHOD_ORDER = {"GET": 0, "POST": 1, "DELETE": 2}
"""The order of a path's operations in the document."""
