"""A template change that would replace a stateful resource fails unless docs/decisions.md
records its migration; the stateful resources are retained and the table protected."""

import copy
import json

import pytest

from smsgw_tools.template import replacement


@pytest.fixture(scope="module")
def template() -> dict:
    return replacement.load_template()


@pytest.fixture
def changed_key_schema(template) -> dict:
    changed = copy.deepcopy(template)
    changed["Resources"]["Table"]["Properties"]["KeySchema"][1]["AttributeName"] = "SK2"
    return changed


def test_template_yaml_replaces_no_stateful_resource_of_the_release():
    # When template.yaml is compared with the released snapshot and docs/decisions.md
    found = replacement.check()

    # Then nothing would be replaced without a recorded migration
    assert [str(change) for change in found] == []


def test_a_changed_table_key_schema_is_a_replacement(changed_key_schema):
    # When the table's sort key is renamed and no migration is recorded
    found = replacement.check(changed_key_schema, decisions="# Decisions\n")

    # Then the check names the table's KeySchema
    assert [(change.logical_id, change.property) for change in found] == [("Table", "KeySchema")]


def test_a_recorded_migration_allows_the_change(changed_key_schema):
    # Given a migration recorded for the table's key schema
    decisions = "# Decisions\n\n## Migration: Table.KeySchema\nCopy the items to ...\n"

    # When the changed template is checked
    found = replacement.check(changed_key_schema, decisions=decisions)

    # Then nothing is reported
    assert found == []


def test_a_migration_of_another_property_does_not_allow_it(changed_key_schema):
    decisions = "## Migration: Table.TableName\n## Migration: SendQueue\n"

    found = replacement.check(changed_key_schema, decisions=decisions)

    assert [(change.logical_id, change.property) for change in found] == [("Table", "KeySchema")]


def test_a_removed_or_renamed_stateful_resource_is_reported(template):
    # When the secret's logical id is renamed and a queue becomes FIFO
    changed = copy.deepcopy(template)
    changed["Resources"]["CredentialsSecret"] = changed["Resources"].pop("CarrierSecret")
    changed["Resources"]["SendQueue"]["Properties"]["FifoQueue"] = True

    found = replacement.check(changed, decisions="")

    # Then both are reported
    assert sorted((change.logical_id, change.property) for change in found) == [
        ("CarrierSecret", None),
        ("SendQueue", "FifoQueue"),
    ]


def test_an_index_key_change_is_an_update_not_a_replacement(template):
    # When GSI2's sort key changes (CloudFormation updates the table; the index is rebuilt)
    changed = copy.deepcopy(template)
    index = changed["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"][1]
    index["KeySchema"][1]["AttributeName"] = "GSI2SK"

    # Then it is not reported
    assert replacement.check(changed, decisions="") == []


def test_the_replacing_properties_come_from_the_resource_schemas():
    assert replacement.replacing_properties("AWS::DynamoDB::Table") == (
        "ImportSourceSpecification",
        "KeySchema",
        "TableName",
    )
    assert replacement.replacing_properties("AWS::SQS::Queue") == ("FifoQueue", "QueueName")


def test_the_table_and_the_secret_are_retained_and_the_table_protected(template):
    resources = template["Resources"]
    for name in ("Table", "CarrierSecret"):
        assert resources[name]["DeletionPolicy"] == "Retain", name
        assert resources[name]["UpdateReplacePolicy"] == "Retain", name
    assert resources["Table"]["Properties"]["DeletionProtectionEnabled"] is True


def test_the_cli_fails_on_a_replacing_change(tmp_path, changed_key_schema, capsys):
    # Given a template file whose table key schema changed
    path = tmp_path / "template.json"
    path.write_text(json.dumps(changed_key_schema))

    # When the CLI checks it
    code = replacement.main(["--template", str(path)])

    # Then it fails and says what
    assert code == 1
    assert "Table.KeySchema" in capsys.readouterr().err
