"""What the sender relies on from TenantStore for a raw send request: its property and
account, or None."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from smsgw.dal.tenant_store import Account, Property
from tests.fakes.tenants import DuplicateError


def test_accounts_and_properties_are_read_back(stores):
    account = Account("AC1", "Acme", sms_enabled=True, date_created="2027-01-01")
    prop = Property("PR1", "AC1", "Shop", sms_enabled=False, date_created="2027-01-01")

    stores.tenants.put_account(account)
    stores.tenants.put_property(prop)

    assert stores.tenants.get_account("AC1") == account
    assert stores.tenants.get_property("PR1") == prop
    assert stores.tenants.get_account("AC2") is None
    assert stores.tenants.get_property("PR2") is None


def test_an_account_or_property_is_created_once(stores):
    stores.tenants.put_account(Account("AC1", "Acme", sms_enabled=True))
    stores.tenants.put_property(Property("PR1", "AC1", "Shop", sms_enabled=True))

    with pytest.raises((ClientError, DuplicateError)):
        stores.tenants.put_account(Account("AC1", "Other", sms_enabled=False))
    with pytest.raises((ClientError, DuplicateError)):
        stores.tenants.put_property(Property("PR1", "AC1", "Other", sms_enabled=False))
    assert stores.tenants.get_account("AC1").name == "Acme"
