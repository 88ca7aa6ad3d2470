"""The send request (the seed's contract) and its validation.

The API and the raw SQS path both validate with `parse_send_request`, so a request is
judged by one set of rules however it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smsgw.errors import ErrorCode, ValidationError
from smsgw.kernel.addresses import (
    is_alphanumeric_sender_id,
    parse_e164,
    validate_email,
    validate_webhook_uri,
)
from smsgw.kernel.smart_encoding import smart_encode
from smsgw.kernel.text import TextInfo, analyse

MAX_SCHEDULE_AHEAD_SECONDS = 14 * 24 * 3600  # 1,209,600
MAX_SCHEDULE_BEHIND_SECONDS = 3600
MIN_VALIDITY_PERIOD_SECONDS = 1
MAX_VALIDITY_PERIOD_SECONDS = 36_000  # 10 hours, Twilio's longest
MAX_EXTERNAL_ID_LENGTH = 256
METHODS = ("POST", "GET")

SENDER_E164 = "e164"
SENDER_ALPHANUMERIC = "alphanumeric"
SENDER_LEASE = "lease"

LEASE_OPTIONS = (
    "ForwardToSms",
    "ForwardFromSms",
    "ForwardToEmail",
    "ForwardFromEmail",
    "WebhookUri",
    "WebhookMethod",
)
_TYPES: dict[str, type] = {
    "From": str,
    "To": str,
    "Text": str,
    "SmartEncoding": bool,
    "Schedule": int,
    "ValidityPeriod": int,
    "DeliveryReceipt": bool,
    "DeliveryReceiptWebhookUri": str,
    "DeliveryReceiptWebhookMethod": str,
    "ExternalId": str,
    **dict.fromkeys(LEASE_OPTIONS, str),
}
FIELDS = frozenset(_TYPES)
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean (true or false)"}
_VALIDITY_PERIOD_RULE = (
    f"ValidityPeriod must be a whole number of seconds from {MIN_VALIDITY_PERIOD_SECONDS} to "
    f"{MAX_VALIDITY_PERIOD_SECONDS} (10 hours)."
)
# The product's own options answer a value of the wrong type with their own code, as the
# issue that added them asks; the seed's fields answer it with INVALID_TYPE.
_OWN_TYPE_ERRORS: dict[str, tuple[ErrorCode, str]] = {
    "SmartEncoding": (ErrorCode.SMART_ENCODING_INVALID, "SmartEncoding must be true or false."),
    "ValidityPeriod": (ErrorCode.VALIDITY_PERIOD_INVALID, _VALIDITY_PERIOD_RULE),
}


def field_types() -> dict[str, type]:
    """Each field of the send request and its Python type (str, int or bool), in the order
    of the contract; the OpenAPI document is generated from it."""
    return dict(_TYPES)


@dataclass(frozen=True, slots=True)
class ResponseOptions:
    """How replies to a leased message are forwarded (the seed's lease-only options)."""

    forward_to_sms: str | None = None
    forward_from_sms: str | None = None
    forward_to_email: str | None = None
    forward_from_email: str | None = None
    webhook_uri: str | None = None
    webhook_method: str = "POST"

    def to_item(self) -> dict[str, str]:
        return {
            key: value
            for key, value in {
                "ForwardToSms": self.forward_to_sms,
                "ForwardFromSms": self.forward_from_sms,
                "ForwardToEmail": self.forward_to_email,
                "ForwardFromEmail": self.forward_from_email,
                "WebhookUri": self.webhook_uri,
                "WebhookMethod": self.webhook_method,
            }.items()
            if value is not None
        }


@dataclass(frozen=True, slots=True)
class SendRequest:
    sender: str | None
    """The From as given: an E.164 number, an alphanumeric ID, or None for a lease."""
    sender_type: str
    to: str
    text: str
    """The text as it will be sent: with SmartEncoding, its look-alikes replaced."""
    text_info: TextInfo
    schedule: int | None
    deliver_at: int
    """Unix seconds at which the message is due: the Schedule, or now."""
    delivery_receipt: bool
    delivery_receipt_webhook_uri: str | None
    delivery_receipt_webhook_method: str
    external_id: str | None
    response_options: ResponseOptions | None
    validity_period: int | None = None
    """Seconds the message may be sent in, counted from `deliver_at`; None: no limit."""
    smart_encoding: bool = False

    @property
    def valid_until(self) -> int | None:
        """Unix seconds after which the message is not sent (its validity's end)."""
        if self.validity_period is None:
            return None
        return self.deliver_at + self.validity_period


def parse_send_request(
    body: Any,
    *,
    now: int,
    max_text_characters: int = 1600,
    allowed_webhook_networks: tuple = (),
    extra_fields: frozenset[str] = frozenset(),
    smart_encoding_default: bool = False,
) -> SendRequest:
    """Validate a send request against the API contract. Raises ValidationError.

    `extra_fields` names fields that a caller handles itself (e.g. PropertySid on the
    raw SQS path) and that are therefore not unknown. `smart_encoding_default` is the
    property's SmartEncoding for a request that does not say (absent or null).
    """
    if not isinstance(body, dict):
        raise ValidationError(
            ErrorCode.BODY_NOT_OBJECT, "The request body must be a JSON object.", None
        )
    fields = _typed_fields(body, extra_fields)

    sender, sender_type = _parse_from(fields.get("From"))
    to = fields.get("To")
    if not to:
        raise ValidationError(ErrorCode.TO_REQUIRED, "To is required.", "To")
    to = parse_e164(to, "To", ErrorCode.TO_INVALID)
    text = fields.get("Text")
    if text is None or text == "":
        raise ValidationError(ErrorCode.TEXT_REQUIRED, "Text is required.", "Text")
    smart_encoding = fields.get("SmartEncoding", smart_encoding_default)
    text = _parse_text_length(
        smart_encode(text) if smart_encoding else text, len(text), max_text_characters
    )
    schedule, deliver_at = _parse_schedule(fields.get("Schedule"), now)
    validity_period = fields.get("ValidityPeriod")
    if validity_period is not None and not (
        MIN_VALIDITY_PERIOD_SECONDS <= validity_period <= MAX_VALIDITY_PERIOD_SECONDS
    ):
        raise ValidationError(
            ErrorCode.VALIDITY_PERIOD_INVALID, _VALIDITY_PERIOD_RULE, "ValidityPeriod"
        )

    receipt_uri = fields.get("DeliveryReceiptWebhookUri") or None
    if receipt_uri is not None:
        validate_webhook_uri(receipt_uri, "DeliveryReceiptWebhookUri", allowed_webhook_networks)
    receipt_method = _parse_method(fields, "DeliveryReceiptWebhookMethod")

    external_id = fields.get("ExternalId") or None
    if external_id is not None and (
        len(external_id) > MAX_EXTERNAL_ID_LENGTH or not external_id.isprintable()
    ):
        raise ValidationError(
            ErrorCode.EXTERNAL_ID_INVALID,
            f"ExternalId must be at most {MAX_EXTERNAL_ID_LENGTH} printable characters.",
            "ExternalId",
        )

    return SendRequest(
        sender=sender,
        sender_type=sender_type,
        to=to,
        text=text,
        text_info=analyse(text),
        schedule=schedule,
        deliver_at=deliver_at,
        delivery_receipt=fields.get("DeliveryReceipt", True),
        delivery_receipt_webhook_uri=receipt_uri,
        delivery_receipt_webhook_method=receipt_method,
        external_id=external_id,
        response_options=_parse_response_options(fields, sender_type, to, allowed_webhook_networks),
        validity_period=validity_period,
        smart_encoding=smart_encoding,
    )


def _typed_fields(body: dict, extra_fields: frozenset[str]) -> dict[str, Any]:
    """The known fields with their JSON types checked; null counts as absent."""
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if name in extra_fields:
            continue
        expected = _TYPES.get(name)
        if expected is None:
            raise ValidationError(
                ErrorCode.UNKNOWN_PARAMETER,
                f"{name} is not a parameter of this call (names are case-sensitive).",
                name,
            )
        if value is None:
            continue
        # bool is a subclass of int in Python; JSON true is not an integer.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            code, message = _OWN_TYPE_ERRORS.get(
                name, (ErrorCode.INVALID_TYPE, f"{name} must be {_TYPE_NAMES[expected]}.")
            )
            raise ValidationError(code, message, name)
        fields[name] = value
    return fields


def _parse_text_length(text: str, given_length: int, max_characters: int) -> str:
    """`text` (as it will be sent) if it is within the limit. SmartEncoding can lengthen a
    text (an ellipsis becomes three dots); the limit holds for what is sent, which is what
    carriers limit (Twilio refuses a body over 1,600 characters)."""
    if len(text) <= max_characters:
        return text
    replaced = (
        ""
        if len(text) == given_length
        else f" once SmartEncoding replaced its look-alikes (it was {given_length})"
    )
    raise ValidationError(
        ErrorCode.TEXT_TOO_LONG,
        f"Text is {len(text)} characters{replaced}; the maximum is {max_characters}.",
        "Text",
    )


def _parse_from(value: str | None) -> tuple[str | None, str]:
    if value is None or value.strip() == "":
        return None, SENDER_LEASE
    if value.startswith("+"):
        return parse_e164(value, "From", ErrorCode.FROM_INVALID_E164), SENDER_E164
    if not is_alphanumeric_sender_id(value):
        raise ValidationError(
            ErrorCode.FROM_INVALID_ALPHANUMERIC,
            "From must be an E.164 number starting with +, or an alphanumeric sender ID of "
            "1 to 11 characters (A-Z, a-z, 0-9 and space) with at least one letter, or blank "
            "to send from a leased number.",
            "From",
        )
    return value, SENDER_ALPHANUMERIC


def _parse_schedule(value: int | None, now: int) -> tuple[int | None, int]:
    if value is None:
        return None, now
    if value - now > MAX_SCHEDULE_AHEAD_SECONDS:
        raise ValidationError(
            ErrorCode.SCHEDULE_TOO_FAR,
            "Schedule can be at most 14 days (1,209,600 seconds) in the future.",
            "Schedule",
        )
    if now - value >= MAX_SCHEDULE_BEHIND_SECONDS:
        raise ValidationError(
            ErrorCode.SCHEDULE_IN_PAST,
            "Schedule is an hour or more in the past; use a time less than an hour ago "
            "(sent now) or in the future.",
            "Schedule",
        )
    return value, max(value, now)


def _parse_method(fields: dict[str, Any], name: str) -> str:
    method = fields.get(name) or "POST"
    if method.upper() not in METHODS:
        raise ValidationError(
            ErrorCode.WEBHOOK_METHOD_INVALID, f"{name} must be POST or GET.", name
        )
    return method.upper()


def _parse_response_options(
    fields: dict[str, Any], sender_type: str, to: str, allowed_webhook_networks: tuple
) -> ResponseOptions | None:
    given = [name for name in LEASE_OPTIONS if fields.get(name)]
    if sender_type != SENDER_LEASE:
        if given:
            raise ValidationError(
                ErrorCode.LEASE_OPTION_WITHOUT_LEASE,
                f"{given[0]} applies only to messages sent from a leased number; leave From "
                "blank to use one.",
                given[0],
            )
        return None
    forward_to_sms = fields.get("ForwardToSms") or None
    if forward_to_sms:
        forward_to_sms = parse_e164(forward_to_sms, "ForwardToSms", ErrorCode.FORWARD_SMS_INVALID)
        if forward_to_sms == to:
            raise ValidationError(
                ErrorCode.FORWARD_SMS_LOOP,
                "ForwardToSms is the message's own recipient (To): their replies would be "
                "sent back to them. Forward to another number.",
                "ForwardToSms",
            )
    forward_from_sms = fields.get("ForwardFromSms") or None
    if forward_from_sms:
        if forward_from_sms.startswith("+"):
            forward_from_sms = parse_e164(
                forward_from_sms, "ForwardFromSms", ErrorCode.FORWARD_SMS_INVALID
            )
        elif not is_alphanumeric_sender_id(forward_from_sms):
            raise ValidationError(
                ErrorCode.FORWARD_SMS_INVALID,
                "ForwardFromSms must be an E.164 number or an alphanumeric sender ID.",
                "ForwardFromSms",
            )
    forward_to_email = fields.get("ForwardToEmail") or None
    if forward_to_email:
        validate_email(forward_to_email, "ForwardToEmail")
    forward_from_email = fields.get("ForwardFromEmail") or None
    if forward_from_email:
        validate_email(forward_from_email, "ForwardFromEmail")
    webhook_uri = fields.get("WebhookUri") or None
    if webhook_uri:
        validate_webhook_uri(webhook_uri, "WebhookUri", allowed_webhook_networks)
    return ResponseOptions(
        forward_to_sms=forward_to_sms,
        forward_from_sms=forward_from_sms,
        forward_to_email=forward_to_email,
        forward_from_email=forward_from_email,
        webhook_uri=webhook_uri,
        webhook_method=_parse_method(fields, "WebhookMethod"),
    )
