"""Session-wide: the file where every function's AWS calls are recorded, whether it runs in
the local stack's workers (e2e) or in-process (integration), and the least-privilege check
over them, run last (tests/e2e/test_least_privilege_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

LEAST_PRIVILEGE_TEST = "test_least_privilege_e2e.py"
RECORDING_SUITES = (Path(__file__).parent / "e2e", Path(__file__).parent / "integration")
"""The suites that run the functions: the e2e tests in the local stack's workers, the
integration tests in-process. Rare paths (reconcile, a scheduled release, a sender's
back-off) are driven only by the integration tests."""
ALL_RECORDED = pytest.StashKey[bool]()
"""Whether the session runs every test of those suites (no file left out, none deselected)."""


@pytest.fixture(scope="session")
def aws_calls_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lines `FunctionLogicalId service:Action`, appended by whatever runs a function."""
    return tmp_path_factory.mktemp("aws-calls") / "calls.txt"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The least-privilege check runs after every other test, over all they recorded."""
    items.sort(key=lambda item: item.path.name == LEAST_PRIVILEGE_TEST)
    selected = {item.path for item in items if item.path.parent in RECORDING_SUITES}
    every = {path for suite in RECORDING_SUITES for path in suite.glob("test_*.py")}
    config.stash[ALL_RECORDED] = selected == every and config.stash.get(ALL_RECORDED, True)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(item.path.parent in RECORDING_SUITES for item in items):
        items[0].config.stash[ALL_RECORDED] = False
