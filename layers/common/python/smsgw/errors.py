"""Domain errors and the catalogue of stable error codes.

Every code is listed in docs/errors.md (a test keeps the two in step). The HTTP status is
chosen by the code, never by matching message text.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """(number, HTTP status). The numbers are part of the public API and never change."""

    INVALID_JSON = (20001, 400)
    BODY_NOT_OBJECT = (20002, 400)
    UNKNOWN_PARAMETER = (20003, 400)
    INVALID_TYPE = (20004, 400)
    UNSUPPORTED_MEDIA_TYPE = (20005, 415)
    BODY_TOO_LARGE = (20006, 413)
    INVALID_QUERY_PARAMETER = (20007, 400)
    INVALID_PAGE_TOKEN = (20008, 400)
    ROUTE_NOT_FOUND = (20010, 404)
    UNAUTHENTICATED = (20101, 401)
    ACCOUNT_SMS_DISABLED = (20102, 403)
    PROPERTY_SMS_DISABLED = (20103, 403)
    PROPERTY_NOT_FOUND = (20104, 404)
    MESSAGE_NOT_FOUND = (20105, 404)
    ACCOUNT_NOT_FOUND = (20106, 404)
    FROM_INVALID_E164 = (21101, 400)
    FROM_INVALID_ALPHANUMERIC = (21102, 400)
    TO_REQUIRED = (21201, 400)
    TO_INVALID = (21202, 400)
    TEXT_REQUIRED = (21301, 400)
    TEXT_TOO_LONG = (21302, 400)
    SCHEDULE_TOO_FAR = (21401, 400)
    SCHEDULE_IN_PAST = (21402, 400)
    WEBHOOK_URI_INVALID = (21501, 400)
    WEBHOOK_METHOD_INVALID = (21502, 400)
    LEASE_OPTION_WITHOUT_LEASE = (21601, 400)
    FORWARD_SMS_INVALID = (21602, 400)
    FORWARD_EMAIL_INVALID = (21603, 400)
    FORWARD_SMS_LOOP = (21604, 400)
    EXTERNAL_ID_INVALID = (21701, 400)
    VALIDITY_PERIOD_INVALID = (21801, 400)
    SMART_ENCODING_INVALID = (21901, 400)
    NO_LEASED_NUMBER_AVAILABLE = (22001, 400)
    LEASE_LIMIT_REACHED = (22002, 400)
    RECIPIENT_OPTED_OUT = (22003, 400)
    POOL_NUMBER_INVALID = (22004, 400)
    POOL_NUMBER_NOT_FOUND = (22005, 404)
    CARRIER_ROUTE_INVALID = (22006, 400)
    CARRIER_ROUTE_NOT_FOUND = (22007, 404)
    RATE_LIMIT_INVALID = (22008, 400)
    RATE_LIMIT_NOT_FOUND = (22009, 404)
    IDEMPOTENCY_KEY_INVALID = (23001, 400)
    IDEMPOTENCY_KEY_REUSED = (23002, 409)
    IDEMPOTENCY_REQUEST_IN_PROGRESS = (23003, 409)
    MESSAGE_NOT_CANCELLABLE = (25001, 409)
    MESSAGE_NOT_REDACTABLE = (25002, 409)
    CALLBACK_SIGNATURE_INVALID = (24001, 403)
    RECEIPT_INVALID = (24002, 400)
    CARRIER_NOT_FOUND = (24003, 404)
    REPLY_INVALID = (24004, 400)
    INTERNAL_ERROR = (29001, 500)
    SERVICE_BUSY = (29002, 503)

    @property
    def number(self) -> int:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]


class SmsGatewayError(Exception):
    """Base of every error the product reports to a caller."""

    def __init__(self, code: ErrorCode, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parameter = parameter

    def to_dict(self) -> dict:
        return {
            "Error": {
                "Code": self.code.number,
                "Message": self.message,
                "Parameter": self.parameter,
            }
        }


class ValidationError(SmsGatewayError):
    """The request breaks the API contract; nothing was stored."""


class NotFoundError(SmsGatewayError):
    """The resource does not exist, or belongs to another account."""


class ForbiddenError(SmsGatewayError):
    """The caller is known but not allowed to do this."""


class ConflictError(SmsGatewayError):
    """The request conflicts with the current state of a resource."""


class TransientError(Exception):
    """A fault worth retrying later (throttling, timeouts, a carrier 5xx).

    `retry_after` is the wait the other side asked for (e.g. a 429's Retry-After);
    `expires_in`, the seconds left before a retry is pointless (a message's validity
    period): the retry's wait is cut to it."""

    def __init__(
        self, message: str, retry_after: float | None = None, expires_in: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.expires_in = expires_in
