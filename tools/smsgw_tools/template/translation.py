"""Parse `template.yaml` and translate it with aws-sam-translator, exactly as `sam deploy`
would, so the tools read the same CloudFormation AWS gets. Code locations are replaced by
placeholders for the translation and kept aside (`code_dirs`)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

DEFAULT_REGION = "us-east-1"
PLACEHOLDER_BUCKET = "local-code"
_CODE_KEYS = ("CodeUri", "ContentUri")


class _NoManagedPolicies:
    """Managed-policy loader for the translator; local runs have no IAM."""

    def load(self) -> dict[str, str]:
        return {}


def default_template_path() -> Path:
    """`template.yaml` at the repository root (three levels above this package)."""
    return Path(__file__).resolve().parents[3] / "template.yaml"


_TRANSLATIONS: dict[tuple[Path, int, str], tuple[dict[str, Any], dict[str, Any]]] = {}
"""Parsed and translated templates by (path, modification time, region): the translator
takes most of a stack's creation, and the tests create hundreds of stacks."""


def parsed_and_translated(path: Path, region: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SAM template at `path` and its translation, each a copy of its own to the caller."""
    key = (path.resolve(), path.stat().st_mtime_ns, region)
    if key not in _TRANSLATIONS:
        sam = yaml_parse(path.read_text())
        _TRANSLATIONS[key] = (sam, translate(sam, region))
    sam, translated = _TRANSLATIONS[key]
    return copy.deepcopy(sam), copy.deepcopy(translated)


def translate(sam: dict[str, Any], region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Translate a SAM template to CloudFormation, code locations replaced by placeholders."""
    sam = copy.deepcopy(sam)
    for logical_id, resource in sam.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        for key in _CODE_KEYS:
            if key in properties:
                properties[key] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}"
    # The translator reads the region from the environment, like the SAM CLI.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(sam, {}, _NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def code_dirs(sam: dict[str, Any], root: Path) -> dict[str, Path]:
    """Each resource's code directory (CodeUri, ContentUri), by logical id."""
    dirs: dict[str, Path] = {}
    for logical_id, resource in sam.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        for key in _CODE_KEYS:
            if isinstance(properties.get(key), str):
                dirs[logical_id] = (root / properties[key]).resolve()
    return dirs
