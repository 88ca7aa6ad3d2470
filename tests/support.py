"""Helpers shared by the test suites."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def load_handler(function: str) -> ModuleType:
    """A function's app.py as its own module (every function names its module `app`)."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"function_{function}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def basic_auth(account_sid: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{account_sid}:{token}".encode()).decode()


def reset_process_caches(*, keep_aws_clients: bool = False) -> None:
    """Forget the settings, clients and stores a warm Lambda process would keep, so the
    next invocation reads the environment the test set (like a cold start); with
    `keep_aws_clients`, all but the AWS clients (`apply_environment` knows when)."""
    from aws_lambda_powertools.utilities import parameters

    from smsgw import warm

    parameters.clear_caches()
    warm.forget(keep_aws_clients=keep_aws_clients)


def apply_environment(environment: dict[str, str]) -> None:
    """A function's environment, and the cold start that reads it: everything the process
    kept is built again, but for the AWS clients while the AWS configuration is the one they
    were built for (a warm process keeps its clients; building them was the largest part of
    a test's invocation). A test that changes what a client carries, without changing that
    configuration (a hook on the default session's events), calls `reset_process_caches`."""
    global _clients_built_for
    os.environ.update(environment)
    configuration = _aws_configuration()
    reset_process_caches(keep_aws_clients=configuration == _clients_built_for)
    _clients_built_for = configuration


_clients_built_for: tuple[Any, ...] | None = None


def _aws_configuration() -> tuple[Any, ...]:
    """What the product's AWS clients are built from: the environment's AWS settings, boto3's
    default session (a new one in each test, mock_aws makes it again), what every botocore
    session is given at its start (the handlers, and `Session.__init__`, which the AWS-fault
    and call-recording hooks patch)."""
    import boto3
    import botocore.handlers
    import botocore.session

    if boto3.DEFAULT_SESSION is None:  # made now, as the invocation would make it: the
        boto3.setup_default_session()  # clients it builds are then built for this one
    return (
        sorted((key, value) for key, value in os.environ.items() if key.startswith("AWS_")),
        boto3.DEFAULT_SESSION,
        botocore.session.Session.__init__,
        tuple(botocore.handlers.BUILTIN_HANDLERS),
    )


class LambdaContext:
    """The parts of the Lambda context object that Powertools reads."""

    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def wait_for(predicate: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Poll `predicate` every 0.2 s until it returns something truthy or time runs out;
    returns its last value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def sqs_records(sqs: Any, queue_url: str, queue_arn: str) -> list[dict[str, Any]]:
    """Everything visible on a queue now, as SQS-event records (left invisible)."""
    records = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return records
        records.extend(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in batch
        )


class TableStream:
    """The table's stream as the notifier's DynamoDB event source hands it over: each call
    of `records` returns the records written since the last call, in order, as Lambda
    event records, filtered by the template's FilterCriteria (smsgw_tools.local.streams,
    which the local stack's stream poller uses too)."""

    def __init__(self, session: Any, stack: Any, function: str = "NotifierFunction") -> None:
        from smsgw_tools.local.streams import CLIENT_CONFIG, StreamReader

        [self.trigger] = [t for t in stack.template.stream_triggers if t.function == function]
        self._reader = StreamReader(
            session.client("dynamodbstreams", config=CLIENT_CONFIG),
            stack.get_att(self.trigger.table, "StreamArn"),
            stack.region,
        )

    def records(self, *, unfiltered: bool = False) -> list[dict[str, Any]]:
        """The new records (every one with `unfiltered`, as if there were no filter)."""
        found = [r for shard in self._reader.read().values() for r in shard]
        return found if unfiltered else [r for r in found if self.trigger.filters.matches(r)]

    def deliver(self, functions: Any) -> dict[str, Any] | None:
        """Invoke the notifier with the new records, as Lambda does (nothing new: no
        invocation, None); the function's answer."""
        records = self.records()
        return functions.invoke("notifier", {"Records": records}) if records else None


TEST_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "SmsGateway",
}


def use_test_aws_environment(patch: Any) -> None:
    """Dummy credentials and in-process AWS for handlers run under `mock_aws` (`patch` is
    pytest's monkeypatch), answered as the local stack's moto server answers: each DynamoDB
    request applied atomically, as DynamoDB applies it (a handler's threads race on
    conditional writes), a Query reads its partition, a data-plane answer is written
    straight to JSON (the same answers, tests/tools/test_moto_query.py and
    test_moto_speedups.py).

    The requests go unsigned: moto in this process reads no signature, and SigV4 took a
    twentieth of the suite's CPU (docs/performance.md, "The test suite"). The local
    stack's moto server enforces IAM, and the e2e tests reach it signed."""
    import botocore.handlers

    from smsgw_tools.local.moto_server import install_patches

    for name, value in TEST_AWS_ENVIRONMENT.items():
        patch.setenv(name, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    install_patches(patch.setattr)
    # Every session made from now on (mock_aws makes boto3's default one again)
    unsigned = ("choose-signer", _unsigned)
    patch.setattr(
        botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, unsigned]
    )


def _unsigned(**_: Any) -> Any:
    """A request's signer: none (botocore.UNSIGNED)."""
    import botocore

    return botocore.UNSIGNED


def create_keyed_table(dynamodb: Any, projection: str = "ALL") -> None:
    """Table `t` as the product keys its table: PK and SK strings, and an index GSI1 on
    GSI1PK (a string) and GSI1SK (a number), for tests and benchmarks of moto itself."""
    attributes = ("PK", "S"), ("SK", "S"), ("GSI1PK", "S"), ("GSI1SK", "N")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind} for name, kind in attributes
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": projection},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


_tables: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], Any]] = weakref.WeakKeyDictionary()


def stack_table(aws_session: Any, stack: Any) -> Any:
    """The stack's table through the test's session, one resource per session and thread (a
    resource is not thread-safe), not a new one for every read."""
    kept = _tables.setdefault(aws_session, {})
    key = (stack.physical_ids["Table"], threading.get_ident())
    if key not in kept:
        kept[key] = aws_session.resource("dynamodb").Table(key[0])
    return kept[key]


def message_item(aws_session: Any, stack: Any, sid: str) -> dict[str, Any]:
    """A message's stored item as the model reads it: its MessageSid (the key holds it) and
    its events in their API form (they are stored compactly)."""
    from smsgw.models.message import event_from_store

    table = stack_table(aws_session, stack)
    item = table.get_item(Key={"PK": f"MESSAGE#{sid}", "SK": "MESSAGE"})["Item"]
    return {**item, "MessageSid": sid, "Events": [event_from_store(e) for e in item["Events"]]}


def stack_admin(info: dict[str, Any]) -> Any:
    """The admin module on a running local stack, signing with the harness's credentials
    (an admin user's key: the stack enforces IAM)."""
    import boto3

    from smsgw_tools.admin.operations import Admin

    session = boto3.session.Session(region_name=info["Region"], **info["AwsCredentials"])
    return Admin(info["TableName"], session=session, endpoint_url=info["AwsEndpointUrl"])


class CallRecorder:
    """Appends `FunctionLogicalId service:Action` to the session's calls file for each AWS
    action a handler run in-process calls (the local stack's workers do the same:
    `smsgw_tools.local.worker`). Only calls made inside `running(function)` count, so a
    test's own set-up is not put on a function's account."""

    _installed: CallRecorder | None = None
    _recording_init: Any = None
    """botocore's `Session.__init__` as the hook left it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.function: str | None = None
        self._seen: set[tuple[str, str]] = set()

    @classmethod
    def for_session(cls, path: Path) -> CallRecorder:
        """The process's recorder, its botocore hook installed again whenever it is gone: a
        test that patched `Session.__init__` before the hook was installed (the reliability
        suites' `aws_faults`) puts its own original back when it ends, and takes the hook
        with it, so every later call would go unrecorded."""
        import boto3
        import botocore.session

        if cls._installed is None:
            cls._installed = cls(path)
        if botocore.session.Session.__init__ is not cls._recording_init:
            from smsgw_tools.local.worker import CALLS_HOOK_ID, record_aws_calls

            hook = record_aws_calls(cls._installed.record)
            cls._recording_init = botocore.session.Session.__init__
            if boto3.DEFAULT_SESSION is not None:  # created before the hook was
                boto3.DEFAULT_SESSION._session.register(
                    "before-parameter-build", hook, unique_id=CALLS_HOOK_ID
                )
        return cls._installed

    def record(self, action: str) -> None:
        function = self.function
        if function is None or (function, action) in self._seen:
            return
        self._seen.add((function, action))
        with self.path.open("a", encoding="utf-8") as calls:
            calls.write(f"{function} {action}\n")


def parser_subcommands(parser: Any, path: tuple[str, ...] = ()) -> list[tuple[Any, str, Any]]:
    """Every subcommand of an argparse parser, depth first: (its `add_subparsers` action,
    its path, its parser)."""
    found = []
    for action in parser._actions:
        if isinstance(action.choices, dict):
            for name, child in action.choices.items():
                found.append((action, (*path, name), child))
                found += parser_subcommands(child, (*path, name))
    return found


def parser_leaves(parser: Any) -> list[tuple[str, ...]]:
    """The paths of the subcommands that have no subcommands of their own."""
    paths = [path for _, path, _ in parser_subcommands(parser)]
    return [path for path in paths if not any(p[: len(path)] == path != p for p in paths)]


def _no_aws_configuration(cwd: Path) -> dict[str, str]:
    """What `smsgw` is run with besides the environment stripped of AWS_* and SMSGW_TABLE: no
    profile files, no instance metadata."""
    return {
        "HOME": str(cwd),
        "AWS_CONFIG_FILE": str(cwd / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(cwd / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _configures_aws(key: str) -> bool:
    return key.startswith("AWS_") or key == "SMSGW_TABLE"


def smsgw_process(argv: list[str], cwd: Path) -> Any:
    """Run `smsgw` as a process in `cwd` with no AWS configuration at all: no region, no
    credentials, no profile files, no instance metadata."""
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items() if not _configures_aws(key)}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "smsgw_tools.admin.cli", *argv],
        cwd=cwd,
        env=environment | _no_aws_configuration(cwd),
        capture_output=True,
        text=True,
        timeout=60,
    )


# The warning filters of an interpreter started without -W or PYTHONWARNINGS (pytest's own
# show every warning), most specific first.
_DEFAULT_WARNING_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)


def smsgw_in_process(argv: list[str], cwd: Path, patch: Any) -> Any:
    """`smsgw_process` without the process: `smsgw`'s entry point (`cli.main`) called here,
    in `cwd`, under the same environment (`patch` is pytest's monkeypatch), with a fresh
    boto3 default session. The result is what the process would give: its exit status, and
    what it wrote to stdout and stderr, warnings and otherwise unhandled log records
    included; an exception escaping `main` is a traceback on stderr and status 1, as the
    interpreter prints it."""
    import contextlib
    import io
    import subprocess
    import traceback
    import warnings

    import boto3

    from smsgw_tools.admin import cli

    for key in [key for key in os.environ if _configures_aws(key)]:
        patch.delenv(key)
    for key, value in _no_aws_configuration(cwd).items():
        patch.setenv(key, value)
    patch.chdir(cwd)
    patch.setattr(boto3, "DEFAULT_SESSION", None)
    stdout, stderr = io.StringIO(), io.StringIO()
    unhandled = _LastResort(stderr)
    root = logging.getLogger()
    root.addHandler(unhandled)
    try:
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.resetwarnings()
            for action, category, module in reversed(_DEFAULT_WARNING_FILTERS):
                warnings.filterwarnings(action, category=category, module=module)
            try:
                status = cli.main(argv)
            except SystemExit as exit_:
                status = exit_.code
                if status is not None and not isinstance(status, int):
                    print(status, file=sys.stderr)
                    status = 1
            except BaseException:  # the interpreter would print it and exit with 1
                traceback.print_exc()
                status = 1
            for warning in caught:
                stderr.write(
                    warnings.formatwarning(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )
                )
    finally:
        root.removeHandler(unhandled)
    return subprocess.CompletedProcess(
        ["smsgw", *argv], status or 0, stdout.getvalue(), stderr.getvalue()
    )


class _LastResort(logging.Handler):
    """Writes, as `logging.lastResort` does, the records at WARNING or above that no handler
    but pytest's log capture (the root's handlers when it was made) takes: a process
    without that capture prints them on stderr."""

    def __init__(self, stream: Any) -> None:
        super().__init__(logging.WARNING)
        self.stream = stream
        self.captured = set(logging.getLogger().handlers)

    def emit(self, record: logging.LogRecord) -> None:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(h is not self and h not in self.captured for h in logger.handlers):
                return
            logger = logger.parent if logger.propagate else None
        self.stream.write(self.format(record) + "\n")
