"""What the sender relies on from TenantStore for a raw send request: its property and
account, or None; and the property's SmartEncoding default, as the admin sets it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from smsgw.dal.tenant_store import Account, Property
from smsgw.errors import ErrorCode, NotFoundError
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


def test_a_property_created_with_a_retention_period_is_read_back_with_it(stores):
    kept = Property("PR1", "AC1", "Shop", sms_enabled=True, retention_days=30)
    deleting = Property(
        "PR2", "AC1", "Web", True, retention_days=7, retention_deletes_messages=True
    )

    stores.tenants.put_property(kept)
    stores.tenants.put_property(deleting)

    assert stores.tenants.get_property("PR1") == kept
    assert stores.tenants.get_property("PR2") == deleting


def test_an_account_or_property_is_created_once(stores):
    stores.tenants.put_account(Account("AC1", "Acme", sms_enabled=True))
    stores.tenants.put_property(Property("PR1", "AC1", "Shop", sms_enabled=True))

    with pytest.raises((ClientError, DuplicateError)):
        stores.tenants.put_account(Account("AC1", "Other", sms_enabled=False))
    with pytest.raises((ClientError, DuplicateError)):
        stores.tenants.put_property(Property("PR1", "AC1", "Other", sms_enabled=False))
    assert stores.tenants.get_account("AC1").name == "Acme"


def test_a_propertys_smart_encoding_default_is_off_until_set_and_read_back(stores):
    # Given a property that never set it, and one created with it on
    stores.tenants.put_property(Property("PR1", "AC1", "Shop", sms_enabled=True))
    stores.tenants.put_property(
        Property("PR2", "AC1", "Web", sms_enabled=True, smart_encoding=True)
    )
    assert stores.tenants.get_property("PR1").smart_encoding is False
    assert stores.tenants.get_property("PR2").smart_encoding is True

    # When it is set on, and then off again
    stores.tenants.set_property_smart_encoding("PR1", True)
    on = stores.tenants.get_property("PR1")
    stores.tenants.set_property_smart_encoding("PR1", False)
    off = stores.tenants.get_property("PR1")

    # Then each reads back, and nothing else of the property changed
    assert on.smart_encoding is True and off.smart_encoding is False
    assert off == Property("PR1", "AC1", "Shop", sms_enabled=True)


def test_the_smart_encoding_default_of_an_unknown_property_is_not_found(stores):
    with pytest.raises(NotFoundError) as caught:
        stores.tenants.set_property_smart_encoding("PR9", True)

    assert caught.value.code == ErrorCode.PROPERTY_NOT_FOUND
    assert stores.tenants.get_property("PR9") is None
