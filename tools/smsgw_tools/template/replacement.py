"""Fail when a template change would make CloudFormation replace a stateful resource.

CloudFormation replaces a resource (creates a new one, then deletes the old) when a
create-only property changes, and a resource whose logical id disappears is deleted. For
the table that is every message, lease and account; for a queue, its jobs; for a secret,
the credentials; for a log group, its history. The released template's create-only
properties of each stateful resource are kept in `template.released.json`; this compares
`template.yaml` with it and reports each change that `docs/decisions.md` does not record
a migration for (a heading `Migration: <LogicalId>.<Property>`, or `Migration:
<LogicalId>` for the resource as a whole).

Which properties replace a resource is read from the CloudFormation resource schemas that
cfn-lint ships (`createOnlyProperties` and `conditionalCreateOnlyProperties`, which is
where the table's `KeySchema` is). An index's key schema is not among them: CloudFormation
updates the table, and refuses to change an existing index's keys in one update.

    python -m smsgw_tools.template.replacement            # check (exit 1 on a finding)
    python -m smsgw_tools.template.replacement --write    # at a release: new snapshot
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"
SNAPSHOT = ROOT / "template.released.json"
DECISIONS = ROOT / "docs" / "decisions.md"
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
)
_MIGRATION = re.compile(r"^#+\s*Migration:\s*([A-Za-z0-9]+)(?:\.([A-Za-z0-9]+))?\s*$", re.M)
_REGION = "us-east-1"


@dataclass(frozen=True)
class Change:
    """A change that replaces (or deletes) a stateful resource."""

    logical_id: str
    property: str | None
    """The create-only property that changed; None: the resource is gone or changed type."""
    released: Any
    current: Any

    def __str__(self) -> str:
        where = f"{self.logical_id}.{self.property}" if self.property else self.logical_id
        return f"{where}: {json.dumps(self.released)} -> {json.dumps(self.current)}"


def replacing_properties(resource_type: str) -> tuple[str, ...]:
    """The top-level properties whose change makes CloudFormation replace the resource."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(_REGION, resource_type).schema
    paths = schema.get("createOnlyProperties", []) + schema.get(
        "conditionalCreateOnlyProperties", []
    )
    return tuple(sorted({path.split("/")[2] for path in paths}))


def snapshot(template: dict[str, Any]) -> dict[str, Any]:
    """Each stateful resource's type and create-only properties, as the template has them."""
    resources: dict[str, Any] = {}
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        kind = resource.get("Type")
        if kind not in STATEFUL_TYPES:
            continue
        properties = resource.get("Properties") or {}
        resources[logical_id] = {
            "Type": kind,
            "Properties": {
                name: properties[name] for name in replacing_properties(kind) if name in properties
            },
        }
    return resources


def changes(released: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """The replacing changes from the `released` snapshot to the `current` one."""
    found: list[Change] = []
    for logical_id, before in released.items():
        after = current.get(logical_id)
        if after is None or after["Type"] != before["Type"]:
            found.append(Change(logical_id, None, before["Type"], after and after["Type"]))
            continue
        for name in replacing_properties(before["Type"]):
            old, new = before["Properties"].get(name), after["Properties"].get(name)
            if old != new:
                found.append(Change(logical_id, name, old, new))
    return found


def recorded_migrations(decisions: str) -> set[tuple[str, str | None]]:
    """The (logical id, property or None) pairs that a `Migration:` heading names."""
    return {(match[0], match[1] or None) for match in _MIGRATION.findall(decisions)}


def unrecorded(found: list[Change], decisions: str) -> list[Change]:
    """The changes that no migration in `decisions` covers."""
    migrations = recorded_migrations(decisions)
    return [
        change
        for change in found
        if (change.logical_id, None) not in migrations
        and (change.logical_id, change.property) not in migrations
    ]


def check(
    template: dict[str, Any] | None = None,
    released: dict[str, Any] | None = None,
    decisions: str | None = None,
) -> list[Change]:
    """The replacing changes of `template` (default: template.yaml) against the released
    snapshot that `decisions` (default: docs/decisions.md) records no migration for."""
    template = template if template is not None else load_template()
    released = released if released is not None else json.loads(SNAPSHOT.read_text())
    decisions = decisions if decisions is not None else DECISIONS.read_text()
    return unrecorded(changes(released, snapshot(template)), decisions)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template, its short-form intrinsics (`!Ref`) as their long forms."""
    return yaml_parse(path.read_text())


def render(resources: dict[str, Any]) -> str:
    """The snapshot file's text."""
    return json.dumps(resources, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the released snapshot")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="default: template.yaml")
    args = parser.parse_args(argv)
    template = load_template(args.template)
    if args.write:
        SNAPSHOT.write_text(render(snapshot(template)))
        print(f"wrote {SNAPSHOT.name}")
        return 0
    found = check(template)
    for change in found:
        print(f"replaces a stateful resource: {change}", file=sys.stderr)
    if found:
        print(
            "Record a migration in docs/decisions.md (a heading 'Migration: "
            "<LogicalId>.<Property>') or undo the change.",
            file=sys.stderr,
        )
        return 1
    print("no stateful resource is replaced")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
