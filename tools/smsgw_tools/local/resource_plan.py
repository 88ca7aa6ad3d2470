"""How each resource of the translated template is created locally: by moto's
CloudFormation, through its service's own API (`resources_by_api`), or by nobody (the local
runtime and gateway play functions, roles and the HTTP API; a few types are not emulated;
a resource that refers to one not created is not created either)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smsgw_tools.local.moto_cloudformation_types import MOTO_CLOUDFORMATION_TYPES
from smsgw_tools.local.resources_by_api import DIRECT_CREATORS
from smsgw_tools.template.intrinsics import references

# Resources the local runtime and gateway play; CloudFormation in moto never sees them.
_RUNTIME_PREFIXES = (
    "AWS::Lambda::",
    "AWS::IAM::",
    "AWS::ApiGateway",
    "AWS::Serverless::",
    "AWS::Scheduler::",
)
# Types the local stack leaves out on purpose, with what happens locally instead.
_NOT_EMULATED = {
    "AWS::Lambda::EventInvokeConfig": (
        "asynchronous retries and destinations are not emulated: the local schedule "
        "logs a failed invocation"
    ),
}


@dataclass
class Plan:
    """How each translated resource is created locally."""

    cloudformation: dict[str, Any]
    direct: dict[str, Any]
    skipped: dict[str, str]


def plan(translated: dict[str, Any]) -> Plan:
    """Decide, per translated resource, whether CloudFormation, an API call or nobody creates it."""
    cloudformation: dict[str, Any] = {}
    direct: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for logical_id, resource in translated["Resources"].items():
        kind = resource["Type"]
        if kind in _NOT_EMULATED:
            skipped[logical_id] = f"{kind}: {_NOT_EMULATED[kind]}"
        elif kind.startswith(_RUNTIME_PREFIXES):
            skipped[logical_id] = f"{kind} is played by the local runtime"
        elif kind in DIRECT_CREATORS:
            direct[logical_id] = resource
        elif kind in MOTO_CLOUDFORMATION_TYPES:
            cloudformation[logical_id] = resource
        else:
            skipped[logical_id] = f"{kind} is not supported by moto"
    _drop_dangling(cloudformation, direct, skipped)
    return Plan(cloudformation=cloudformation, direct=direct, skipped=skipped)


def _drop_dangling(
    cloudformation: dict[str, Any], direct: dict[str, Any], skipped: dict[str, str]
) -> None:
    """Skip resources that refer to skipped ones, until nothing changes."""
    changed = True
    while changed:
        changed = False
        for group, outside in (
            (cloudformation, set(skipped) | set(direct)),
            (direct, set(skipped)),
        ):
            for logical_id, resource in list(group.items()):
                depends = resource.get("DependsOn", [])
                depends = [depends] if isinstance(depends, str) else depends
                missing = sorted(
                    (references(resource.get("Properties", {})) | set(depends)) & outside
                )
                if missing:
                    skipped[logical_id] = f"refers to {', '.join(missing)}, which is not created"
                    del group[logical_id]
                    changed = True
                    outside = outside | {logical_id}
