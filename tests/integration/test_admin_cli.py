"""The `smsgw` admin CLI against the tables built from the template."""

import json

import pytest

from smsgw.errors import ErrorCode
from smsgw_tools.admin import cli


@pytest.fixture
def run(stack, capsys):
    def invoke(*args):
        code = cli.main(["--table", stack.physical_ids["Table"], "--json", *args])
        captured = capsys.readouterr()
        return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err

    return invoke


def test_account_and_property_lifecycle(run, api, functions):
    code, account, _ = run("account", "create", "--name", "Shop")
    assert code == 0 and account["AuthToken"] and account["SmsEnabled"] is True
    _, prop, _ = run("property", "create", "--account", account["AccountSid"], "--name", "Web")
    _, disabled, _ = run("property", "disable", prop["PropertySid"])
    _, accounts, _ = run("account", "list")
    _, properties, _ = run("property", "list", "--account", account["AccountSid"])
    _, rotated, _ = run("account", "rotate-token", account["AccountSid"], "--keep-previous")

    assert disabled["SmsEnabled"] is False
    assert account["AccountSid"] in [a["AccountSid"] for a in accounts]
    assert "AuthToken" not in json.dumps(accounts)
    assert [p["PropertySid"] for p in properties] == [prop["PropertySid"]]
    assert rotated["AuthToken"] != account["AuthToken"] and rotated["PreviousTokenValid"]


def test_rotation_keeping_the_previous_token_accepts_both(run, admin, tenant, api):
    from tests.support import basic_auth

    _, rotated, _ = run("account", "rotate-token", tenant.account_sid, "--keep-previous")
    body = {"From": "+61499009990", "To": "+61488023555", "Text": "hi"}

    old = api.send(body)
    new = api.send(body, authorization=basic_auth(tenant.account_sid, rotated["AuthToken"]))

    assert (old.status, new.status) == (200, 200)


def test_disabling_an_account_says_when_it_takes_effect(run, tenant):
    code, disabled, err = run("account", "disable", tenant.account_sid)

    assert code == 0 and disabled["SmsEnabled"] is False
    assert "within the authorizer" in err and "60 s" in err and "AuthorizerCacheSeconds" in err


def test_unknown_account_is_a_clear_error(run):
    code, out, err = run("account", "disable", "AC" + "0" * 32)

    assert code == 1 and out is None
    assert "No account" in err
    assert ErrorCode.ACCOUNT_NOT_FOUND.http_status == 404


def test_a_propertys_retention_is_set_in_days_and_removed_with_keep_or_zero(run, tenant):
    sid = tenant.property_sid

    _, kept, _ = run("property", "list", "--account", tenant.account_sid)
    _, thirty, _ = run("property", "set-retention", sid, "--days", "30")
    _, listed, _ = run("property", "list", "--account", tenant.account_sid)
    _, keep, _ = run("property", "set-retention", sid, "--keep")
    run("property", "set-retention", sid, "--days", "7")
    _, zero, _ = run("property", "set-retention", sid, "--days", "0")

    assert [p["RetentionDays"] for p in kept] == [None]
    assert thirty["RetentionDays"] == 30 and [p["RetentionDays"] for p in listed] == [30]
    assert keep["RetentionDays"] is None and zero["RetentionDays"] is None


def test_a_propertys_retention_may_delete_its_messages_and_needs_a_period_to(run, tenant):
    sid = tenant.property_sid

    _, deleting, _ = run("property", "set-retention", sid, "--days", "30", "--delete-messages")
    _, text_only, _ = run("property", "set-retention", sid, "--days", "30")
    run("property", "set-retention", sid, "--days", "7", "--delete-messages")
    _, keep, _ = run("property", "set-retention", sid, "--keep")

    assert (deleting["RetentionDays"], deleting["RetentionDeletesMessages"]) == (30, True)
    assert (text_only["RetentionDays"], text_only["RetentionDeletesMessages"]) == (30, False)
    assert (keep["RetentionDays"], keep["RetentionDeletesMessages"]) == (None, False)
    for period in (["--keep"], ["--days", "0"]):
        with pytest.raises(SystemExit) as refused:
            run("property", "set-retention", sid, *period, "--delete-messages")
        assert refused.value.code == 2


@pytest.mark.parametrize("days", ["-1", "3651", "1.5", "week"])
def test_a_retention_that_is_not_a_number_of_days_is_refused(run, tenant, days):
    with pytest.raises(SystemExit) as refused:
        run("property", "set-retention", tenant.property_sid, "--days", days)

    assert refused.value.code == 2


def test_retention_of_an_unknown_property_is_a_clear_error(run):
    code, out, err = run("property", "set-retention", "PR" + "0" * 32, "--days", "30")

    assert code == 1 and out is None
    assert "No property" in err


def test_a_propertys_smart_encoding_default_is_set_on_and_off(run, tenant):
    sid = tenant.property_sid

    _, before, _ = run("property", "list", "--account", tenant.account_sid)
    code, on, _ = run("property", "set-smart-encoding", sid, "on")
    _, listed, _ = run("property", "list", "--account", tenant.account_sid)
    _, off, _ = run("property", "set-smart-encoding", sid, "off")

    assert [p["SmartEncoding"] for p in before] == [False]
    assert code == 0 and on["SmartEncoding"] is True
    assert [p["SmartEncoding"] for p in listed] == [True]
    assert off["SmartEncoding"] is False and off["PropertySid"] == sid


@pytest.mark.parametrize("setting", ["yes", "true", "ON", ""])
def test_a_smart_encoding_setting_other_than_on_or_off_is_refused(run, tenant, setting):
    with pytest.raises(SystemExit) as refused:
        run("property", "set-smart-encoding", tenant.property_sid, setting)

    assert refused.value.code == 2


def test_smart_encoding_of_an_unknown_property_is_a_clear_error(run):
    code, out, err = run("property", "set-smart-encoding", "PR" + "0" * 32, "on")

    assert code == 1 and out is None
    assert "No property" in err
