"""Tenancy: the caller's own property, and whether an account and a property may send."""

from __future__ import annotations

from smsgw.errors import ErrorCode, ForbiddenError, NotFoundError
from smsgw.ids import is_well_formed
from smsgw.logic.ports import Messages, Tenants
from smsgw.models.message import Message
from smsgw.models.tenant import Property


def owned_property(tenants: Tenants, property_sid: str, account_sid: str) -> Property:
    """The caller's property; another account's property is not found (404, not 403)."""
    prop = tenants.get_property(property_sid)
    if prop is None or prop.account_sid != account_sid:
        raise NotFoundError(
            ErrorCode.PROPERTY_NOT_FOUND,
            f"No property {property_sid} in this account.",
            "PropertySid",
        )
    return prop


def owned_message(messages: Messages, prop: Property, message_sid: str) -> Message:
    """A message of the caller's property; a malformed MessageSid, or another property's
    or account's message, is not found (404), as for a message that does not exist."""
    found = messages.get(message_sid) if is_well_formed(message_sid) else None
    if found is None or found.property_sid != prop.property_sid:
        raise NotFoundError(
            ErrorCode.MESSAGE_NOT_FOUND,
            f"No message {message_sid} in this property.",
            "MessageSid",
        )
    return found


def check_can_send(prop: Property, account_sms_enabled: bool) -> None:
    """The seed: the account and the property must both be enabled for SMS."""
    if not account_sms_enabled:
        raise ForbiddenError(
            ErrorCode.ACCOUNT_SMS_DISABLED,
            "This account is not enabled for SMS; contact client services to enable it.",
            None,
        )
    if not prop.sms_enabled:
        raise ForbiddenError(
            ErrorCode.PROPERTY_SMS_DISABLED,
            "This property is not enabled for SMS; contact client services to enable it.",
            "PropertySid",
        )
