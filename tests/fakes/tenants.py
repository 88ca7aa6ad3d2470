"""In-memory stand-in for the reads the sender makes of `smsgw.dal.tenant_store.TenantStore`
(`get_account`, `get_property`), with `put_account`/`put_property` to set them up, each
refusing a duplicate as the real conditional put does, and the admin's
`set_property_smart_encoding`.
Held honest by `tests/contract/test_tenant_store_contract.py`."""

from __future__ import annotations

from dataclasses import replace

from smsgw.dal.tenant_store import Account, Property
from smsgw.errors import ErrorCode, NotFoundError


class DuplicateError(Exception):
    """The item exists already (the real store's conditional put fails)."""


class FakeTenantStore:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.properties: dict[str, Property] = {}

    def get_account(self, account_sid: str) -> Account | None:
        return self.accounts.get(account_sid)

    def get_property(self, property_sid: str) -> Property | None:
        return self.properties.get(property_sid)

    def put_account(self, account: Account) -> None:
        if account.account_sid in self.accounts:
            raise DuplicateError(account.account_sid)
        self.accounts[account.account_sid] = account

    def put_property(self, prop: Property) -> None:
        if prop.property_sid in self.properties:
            raise DuplicateError(prop.property_sid)
        self.properties[prop.property_sid] = prop

    def set_property_smart_encoding(self, property_sid: str, on: bool) -> None:
        prop = self.properties.get(property_sid)
        if prop is None:
            raise NotFoundError(ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.", None)
        self.properties[property_sid] = replace(prop, smart_encoding=on)
