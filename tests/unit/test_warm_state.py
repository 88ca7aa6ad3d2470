"""Everything a warm process keeps is forgotten at once (smsgw.warm), so no test can leak
a client or a setting into the next by a factory someone forgot to list."""

import ast
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import smsgw
from smsgw import warm

PRODUCT = Path(smsgw.__file__).parent
# Data that does not depend on the environment: kept for the process's life.
ENVIRONMENT_FREE = {
    "kernel/addresses.py": {"_alphanumeric_unsupported_regions"},
    "observability.py": {"_tracer", "_metrics"},
    "warm.py": set(),
}


def _cached_functions(tree: ast.AST) -> set[str]:
    """Functions decorated with functools' cache or lru_cache, however imported."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = ast.unparse(target)
                if name.rsplit(".", 1)[-1] in ("cache", "lru_cache"):
                    names.add(node.name)
    return names


def test_only_environment_free_data_uses_functools_cache_directly():
    found = {}
    for path in sorted(PRODUCT.rglob("*.py")):
        cached = _cached_functions(ast.parse(path.read_text()))
        if cached:
            found[path.relative_to(PRODUCT).as_posix()] = cached
    expected = {name: funcs for name, funcs in ENVIRONMENT_FREE.items() if funcs}
    assert found == expected, "use @smsgw.warm.warm for what a process builds from its setting"


def test_forget_clears_every_warm_factory(monkeypatch):
    from smsgw import config, services

    monkeypatch.setenv("TABLE_NAME", "first")
    warm.forget()
    try:
        assert services.send_limits() is services.send_limits()
        first = config.settings()

        monkeypatch.setenv("TABLE_NAME", "second")
        warm.forget()

        assert not warm._kept
        assert config.settings() is not first
        assert config.settings().table_name == "second"
    finally:
        warm.forget()  # nothing of this test's environment outlives it


def test_threads_that_ask_first_at_once_share_one_build():
    start = threading.Barrier(8)
    built = []

    @warm.warm
    def client() -> object:
        built.append(threading.get_ident())
        time.sleep(0.05)  # long enough for every thread to ask while it is built
        return object()

    def first_use() -> object:
        start.wait()
        return client()

    try:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda _: first_use(), range(8)))
        assert len(built) == 1
        assert all(one is got[0] for one in got)
    finally:
        client.cache_clear()


def test_each_thread_has_a_table_of_its_own_from_the_default_session(monkeypatch):
    import boto3

    from smsgw.dal import aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sessions = []
    resource = boto3.session.Session.resource

    def recorded(session, *args, **kwargs):
        sessions.append(session)
        return resource(session, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "resource", recorded)
    warm.forget()
    try:
        table = aws.table("Messages")
        with ThreadPoolExecutor(4) as pool:
            clients = set(pool.map(lambda _: id(table.meta.client), range(4)))
        clients.add(id(table.meta.client))
        assert len(clients) == len(sessions) >= 2  # the main thread's and the pool's own
        assert all(session is boto3._get_default_session() for session in sessions)
    finally:
        warm.forget()


def test_forget_may_keep_the_aws_clients_and_nothing_else(monkeypatch):
    from smsgw import config
    from smsgw.dal import aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TABLE_NAME", "Messages")
    warm.forget()
    try:
        client, table, settings = aws.sqs(), aws.table("Messages"), config.settings()

        warm.forget(keep_aws_clients=True)

        assert aws.sqs() is client and aws.table("Messages") is table
        assert config.settings() is not settings

        warm.forget()

        assert aws.sqs() is not client and aws.table("Messages") is not table
    finally:
        warm.forget()


def test_a_tests_cold_start_keeps_the_clients_only_under_the_aws_configuration_they_had(
    monkeypatch,
):
    import boto3
    import botocore.session

    from smsgw import config
    from smsgw.dal import aws
    from tests import support

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # this test's sessions end with it
    monkeypatch.setattr(support, "_clients_built_for", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        support.apply_environment({"TABLE_NAME": "Messages"})
        client, settings = aws.sqs(), config.settings()

        # The same configuration: the client is kept, the settings read again
        support.apply_environment({"TABLE_NAME": "Messages"})
        assert aws.sqs() is client
        assert config.settings() is not settings

        # Another region
        support.apply_environment({"AWS_DEFAULT_REGION": "eu-west-1"})
        assert aws.sqs() is not client
        assert aws.sqs().meta.region_name == "eu-west-1"
        client = aws.sqs()

        # Another default session (each test's mock_aws makes one)
        boto3.setup_default_session()
        support.apply_environment({})
        assert aws.sqs() is not client
        client = aws.sqs()

        # A hook on every session made from now on (the AWS faults, the recorded calls)
        create = botocore.session.Session.__init__
        monkeypatch.setattr(botocore.session.Session, "__init__", lambda *a, **k: create(*a, **k))
        support.apply_environment({})
        assert aws.sqs() is not client
    finally:
        warm.forget()
