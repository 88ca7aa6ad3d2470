"""Authentication of API callers (HTTP Basic AccountSid:AuthToken)."""

from __future__ import annotations

from smsgw.ids import is_well_formed
from smsgw.logic.credentials import parse_basic_auth, token_matches
from smsgw.logic.ports import Tenants


def authorizer_context(header: str | None, tenants: Tenants) -> dict[str, str | bool]:
    """The context the authorizer hands to the API: the account's sid and SMS flag, or an
    empty AccountSid when the credentials are missing or wrong."""
    credentials = parse_basic_auth(header)
    if credentials is None:
        return {"AccountSid": ""}
    account_sid, token = credentials
    account = tenants.get_account(account_sid) if is_well_formed(account_sid) else None
    if account is None or not token_matches(token, account.token_hashes):
        return {"AccountSid": ""}
    return {"AccountSid": account.account_sid, "SmsEnabled": account.sms_enabled}
