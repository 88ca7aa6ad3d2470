"""Session-wide: the file where every function's AWS calls are recorded, whether it runs in
the local stack's workers (e2e) or in-process (integration), and the least-privilege check
over them, run last (tests/e2e/test_least_privilege_e2e.py)."""

from __future__ import annotations

import gc
import os
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests import botocore_memos

# Every boto3/botocore session the tests make (one per test, one per simulated cold start)
# reads botocore's service models through one loader, parsed once per process. A Lambda
# process parses them once too; what is shared is only the parsed JSON.
botocore.session.create_loader = cache(botocore.session.create_loader)
# and asks botocore's event aliases and each handler's signature once (tests/botocore_memos.py).
botocore_memos.install()

# A test process holds a large heap that lives as long as it does (botocore's models, moto's
# backends and the deploy snapshots, tests/moto_snapshots.py), and each AWS call allocates
# thousands of objects. With the interpreter's thresholds (2,000, 10, 10) the collector ran
# 3,000 to 6,500 times in a worker, 26 to 42 of them over that whole heap, and took 14 to
# 18 % of the worker's CPU; with 50,000 allocations between young collections, 6 to 13 %,
# for about 60 MB more per process (docs/performance.md, "The test suite").
gc.set_threshold(50_000, 20, 20)

LEAST_PRIVILEGE_TEST = "test_least_privilege_e2e.py"
E2E = Path(__file__).parent / "e2e"
RECORDING_SUITES = (E2E, Path(__file__).parent / "integration")
"""The suites that run the functions: the e2e tests in the local stack's workers, the
integration tests in-process. Rare paths (reconcile, a scheduled release, a sender's
back-off) are driven only by the integration tests."""
ALL_RECORDED = pytest.StashKey[bool]()
"""Whether the session runs every test of those suites (no file left out, none deselected)."""


CALLS_FILE = "SMSGW_TEST_AWS_CALLS_FILE"
"""Where the calls are recorded when the suite runs in several processes (`make test`: the
pytest-xdist workers all append to it, and a second run, of the least-privilege test
alone, checks it). Unset: a file of the session's own."""


def _calls_file(config: pytest.Config) -> Path | None:
    path = os.environ.get(CALLS_FILE)
    return Path(path) if path else None


def _complete_marker(calls: Path) -> Path:
    """Written by a run that recorded over every test of the suites (so the check may run)."""
    return calls.with_name(calls.name + ".complete")


@pytest.fixture(scope="session")
def aws_calls_file(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Lines `FunctionLogicalId service:Action`, appended by whatever runs a function."""
    return _calls_file(request.config) or tmp_path_factory.mktemp("aws-calls") / "calls.txt"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The least-privilege check runs after every other test, over all they recorded. With
    a shared calls file, a run of the suites records and a run of the check alone checks.
    """
    calls = _calls_file(config)
    checks = [item for item in items if item.path.name == LEAST_PRIVILEGE_TEST]
    if calls and len(checks) < len(items):  # the recording run: the check is the next run's
        items[:] = [item for item in items if item not in checks]
    items.sort(key=lambda item: item.path.name == LEAST_PRIVILEGE_TEST)
    selected = {item.path for item in items if item.path.parent in RECORDING_SUITES}
    every = {path for suite in RECORDING_SUITES for path in suite.glob("test_*.py")}
    if calls and checks and len(checks) == len(items):
        config.stash[ALL_RECORDED] = _complete_marker(calls).exists()
    else:
        every -= {E2E / LEAST_PRIVILEGE_TEST} if calls else set()
        # Under pytest-xdist each worker records only the tests it ran: without a shared
        # calls file no worker has seen every call.
        shared = calls is not None or not hasattr(config, "workerinput")
        config.stash[ALL_RECORDED] = (
            shared and selected == every and config.stash.get(ALL_RECORDED, True)
        )


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: a worker for each core, and one more. The worker that takes the e2e tests
    spends most of its first minute waiting on the local stacks' processes and the tests'
    deliberate waits (a tenth of its CPU time there is its own), and the extra worker keeps
    the cores busy meanwhile (docs/performance.md, "The test suite").
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1


ONE_WORKER_MODULES = {"tests/tools/test_cli_local.py"}
"""Modules whose tests share a module-scoped fixture that is costly to set up (a template
deployed into a moto server): on one worker it is set up once."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist, the e2e tests go to one worker (they share the local stacks the
    session starts: one per worker would double their cost), so do the tests of each module
    of `ONE_WORKER_MODULES`, and every other test to whichever worker is free."""
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerForTheLocalStacks(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            if nodeid.startswith("tests/e2e/"):
                return "e2e"
            return module if module in ONE_WORKER_MODULES else nodeid

    return OneWorkerForTheLocalStacks(config, log)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(item.path.parent in RECORDING_SUITES for item in items):
        items[0].config.stash[ALL_RECORDED] = False


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A recording run over every test of the suites says so beside the calls file."""
    calls = _calls_file(session.config)
    if calls and session.config.stash.get(ALL_RECORDED, False) and not _is_check_run(session):
        _complete_marker(calls).touch()


def _is_check_run(session: pytest.Session) -> bool:
    return bool(session.items) and all(
        item.path.name == LEAST_PRIVILEGE_TEST for item in session.items
    )


@pytest.fixture
def sink():
    """A customer's webhook endpoint on 127.0.0.1, recording what it is sent."""
    from smsgw_tools.local.sink import WebhookSink

    with WebhookSink() as running:
        yield running
