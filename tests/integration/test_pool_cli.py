"""`smsgw pool add | list | remove` against the table built from the template."""

import json

import pytest

from smsgw.errors import ErrorCode
from smsgw_tools.admin import cli
from smsgw_tools.admin.operations import pool_entry


@pytest.fixture
def run(stack, capsys):
    def invoke(*args):
        code = cli.main(["--table", stack.physical_ids["Table"], "--json", *args])
        captured = capsys.readouterr()
        return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err

    return invoke


def test_pool_numbers_are_added_listed_changed_and_removed(run):
    code, added, _ = run("pool", "add", "+61400000001", "--countries", "au,NZ")
    run("pool", "add", "+12015550123", "--countries", "US,CA")
    _, changed, _ = run("pool", "add", "+61400000001", "--countries", "AU")
    _, listed, _ = run("pool", "list")
    _, removed, _ = run("pool", "remove", "+12015550123")
    _, after, _ = run("pool", "list")

    assert code == 0 and added["Countries"] == "AU,NZ"
    assert changed["Countries"] == "AU" and changed["DateCreated"] == added["DateCreated"]
    assert [(n["Number"], n["Countries"]) for n in listed] == [
        ("+12015550123", "US,CA"),
        ("+61400000001", "AU"),
    ]
    assert removed["Number"] == "+12015550123"
    assert [n["Number"] for n in after] == ["+61400000001"]


def test_a_country_the_number_no_longer_serves_is_no_longer_indexed(run, stack, aws_session):
    from smsgw.dal.pool import PoolStore

    run("pool", "add", "+61400000001", "--countries", "AU,NZ")
    run("pool", "add", "+61400000001", "--countries", "AU")
    pool = PoolStore(aws_session.resource("dynamodb").Table(stack.physical_ids["Table"]))

    assert list(pool.numbers_for("NZ")) == []
    assert list(pool.numbers_for("AU")) == [["+61400000001"]]


@pytest.mark.parametrize(
    ("number", "countries"), [("0400000001", "AU"), ("+61400000001", "XX"), ("+61400000001", "")]
)
def test_invalid_pool_entries_are_refused(run, number, countries):
    code, out, err = run("pool", "add", number, "--countries", countries)

    assert code == 1 and out is None and err
    with pytest.raises(Exception) as refused:
        pool_entry(number, countries.split(","))
    assert refused.value.code is ErrorCode.POOL_NUMBER_INVALID


def test_removing_a_number_not_in_the_pool_is_a_clear_error(run):
    code, _, err = run("pool", "remove", "+61400000001")

    assert code == 1 and "not in the pool" in err
    assert ErrorCode.POOL_NUMBER_NOT_FOUND.http_status == 404
