"""Tenancy: the caller's own property, and whether an account and a property may send."""

from __future__ import annotations

from smsgw.errors import ErrorCode, ForbiddenError, NotFoundError
from smsgw.logic.ports import Tenants
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
