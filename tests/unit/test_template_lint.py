"""template.yaml passes cfn-lint (which also runs the SAM transform) with no findings."""

from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_template_has_no_cfn_lint_findings():
    # cfn-lint takes seconds to import (sympy): only the worker that runs this pays for it.
    from cfnlint.api import lint_file

    findings = lint_file(TEMPLATE)
    assert [str(f) for f in findings] == []


def test_dependency_layer_pins_the_same_runtime_dependencies():
    root = TEMPLATE.parent
    assert (root / "layers/deps/requirements.txt").read_text() == (
        root / "requirements.txt"
    ).read_text()
