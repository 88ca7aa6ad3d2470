"""Every `smsgw` subcommand, run as a process under each expected failure, ends with one
line on stderr saying what is wrong and a non-zero exit: never a traceback.

The subcommands are read from the parser, so a new one is covered without editing this."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from smsgw_tools.admin import cli
from smsgw_tools.local.moto_server import MotoServer
from tests.support import parser_leaves, smsgw_process

# They start a stack or write a file; they make no call that can fail this way.
NOT_RUN = {("local", "up"), ("local", "demo"), ("openapi",)}
AWS_GROUPS = {"account", "property", "pool"}
GOOD = {"sid": "PR" + "0" * 32, "account": "AC" + "0" * 32, "number": "+61400000001"}
BAD = {"sid": "nope", "account": "AC123", "number": "12"}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _arguments(path: tuple[str, ...], values: dict[str, str]) -> list[str]:
    """The subcommand with its required arguments filled in."""
    parser = cli.build_parser()
    for name in path:
        parser = next(
            action.choices[name]
            for action in parser._actions
            if action.choices and isinstance(action.choices, dict)
        )
    argv = list(path)
    for action in parser._actions:
        if action.option_strings and not action.required:
            continue
        if action.choices and isinstance(action.choices, dict):
            continue
        value = values.get(action.dest) or (action.choices[0] if action.choices else "Acme")
        if action.dest == "countries":
            value = "AU"
        argv += [*action.option_strings[:1], str(value)]
    return argv


def _takes_an_id(path: tuple[str, ...]) -> bool:
    return any(name in _arguments(path, GOOD) for name in GOOD.values())


class _AwsErrorHandler(BaseHTTPRequestHandler):
    """Answers every DynamoDB request with the error named by the server."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"__type": self.server.error_code, "message": "no"}).encode()
        self.send_response(400)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with MotoServer() as server:
        yield server.url


def _refusing_server(code: str) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AwsErrorHandler)
    server.error_code = code  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def throttling_url() -> Iterator[str]:
    yield from _refusing_server("ThrottlingException")


@pytest.fixture(scope="module")
def denying_url() -> Iterator[str]:
    yield from _refusing_server("UnrecognizedClientException")


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return smsgw_process(argv, cwd)


def test_no_subcommand_prints_a_traceback_on_an_expected_failure(
    tmp_path, moto_url, throttling_url, denying_url
):
    # Given every subcommand and every way the operator's environment can be wrong
    closed = f"http://127.0.0.1:{_closed_port()}"
    empty = tmp_path / "empty"
    empty.mkdir()
    stale = tmp_path / "stale"
    (stale / ".local-stack").mkdir(parents=True)
    (stale / ".local-stack" / "info.json").write_text(
        json.dumps(
            {
                "AwsEndpointUrl": closed,
                "AwsCredentials": {"aws_access_key_id": "k", "aws_secret_access_key": "s"},
                "Region": "us-east-1",
                "StackName": "smsgw-local",
                "TableName": "smsgw-local-Table",
                "SimulatorUrl": closed,
            }
        )
    )
    conditions = {
        "no region": (["--stack", "smsgw"], empty),
        "no credentials": (["--stack", "smsgw", "--region", "eu-west-1"], empty),
        "stack not found": (["--endpoint-url", moto_url, "--stack", "smsgw"], empty),
        "table not found": (["--endpoint-url", moto_url, "--table", "missing"], empty),
        "endpoint unreachable": (["--endpoint-url", closed, "--table", "t"], empty),
        "throttled": (["--endpoint-url", throttling_url, "--table", "t"], empty),
        "access denied": (["--endpoint-url", denying_url, "--table", "t"], empty),
        "missing info file": (["--local"], empty),
        "stale info file": ([], stale),
    }
    leaves = [path for path in parser_leaves(cli.build_parser()) if path not in NOT_RUN]
    assert {path[0] for path in leaves} == AWS_GROUPS | {"local"}, "classify the new group"
    runs = [
        (name, path, [*options, *_arguments(path, GOOD)], cwd)
        for name, (options, cwd) in conditions.items()
        for path in leaves
        if path[0] in AWS_GROUPS or name in ("missing info file", "stale info file")
    ] + [
        ("bad ids", path, ["--endpoint-url", closed, "--table", "t", *_arguments(path, BAD)], empty)
        for path in leaves
        if _takes_an_id(path)
    ]

    # When each runs as a process
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda run: _run(run[2], run[3]), runs))

    # Then each fails with one short line on stderr, and no traceback
    failures = [
        f"{name}: smsgw {' '.join(argv)} -> {result.returncode}\n{result.stderr}"
        for (name, _, argv, _), result in zip(runs, results, strict=True)
        if result.returncode == 0
        or "Traceback" in result.stderr
        or len(result.stderr.strip().splitlines()) != 1
        or len(result.stderr) > 300
        or not result.stderr.startswith("smsgw")
    ]
    assert len(runs) > 100
    assert not failures, "\n".join(failures)


def test_the_error_lines_say_what_is_wrong_and_what_to_do(tmp_path, moto_url):
    # Given the README's first command, the way an operator first types it
    account = ["account", "create", "--name", "Acme"]
    local = ["--local", *account]

    # When it runs without a region, without credentials, and against a moto server
    no_region = _run(["--stack", "smsgw", *account], tmp_path).stderr
    no_credentials = _run(["--stack", "smsgw", "--region", "eu-west-1", *account], tmp_path)
    no_stack = _run(["--endpoint-url", moto_url, "--stack", "smsgw", *account], tmp_path)
    no_info = _run(local, tmp_path).stderr

    # Then each line names the fix
    assert "--region" in no_region and "--local" in no_region
    assert "credentials" in no_credentials.stderr and "--local" in no_credentials.stderr
    assert "smsgw" in no_stack.stderr and "--local" in no_stack.stderr
    assert "make serve" in no_info and ".local-stack/info.json" in no_info
