"""Every `smsgw` subcommand, under each expected failure, ends with one line on stderr saying
what is wrong and a non-zero exit: never a traceback. Ctrl-C is one line too, with status 130.

The subcommands are read from the parser, so a new one is covered without editing this. Each
subcommand runs under each failure through the entry point (`cli.main`) in this process,
under the environment a process gets (`smsgw_in_process`); one subcommand per failure runs as
a process too, so the process's exit status and stderr are proven end to end."""

from __future__ import annotations

import argparse
import functools
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from smsgw_tools.admin import cli
from smsgw_tools.local.moto_server import MotoServer
from tests.support import parser_leaves, smsgw_in_process, smsgw_process

# They start a stack or write a file; they make no call that can fail this way.
NOT_RUN = {("local", "up"), ("local", "demo"), ("openapi",)}
AWS_GROUPS = {"account", "property", "pool", "route", "rate"}
GOOD = {
    "sid": "PR" + "0" * 32,
    "account": "AC" + "0" * 32,
    "number": "+61400000001",
    "seconds": "0.1",
    "prefix": "+61",
    "carriers": "twilio,vonage",
    "carrier": "twilio",
    "rate": "20",
}
BAD = {
    "sid": "nope",
    "account": "AC123",
    "number": "12",
    "prefix": "61",
    "carrier": "nope",
    "rate": "fast",
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_parser = functools.cache(cli.build_parser)
"""The CLI's parser, built once: the tests only read it (each run of `main` builds its own)."""


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = _parser()
    for name in path:
        parser = next(
            action.choices[name]
            for action in parser._actions
            if action.choices and isinstance(action.choices, dict)
        )
    return parser


def _arguments(path: tuple[str, ...], values: dict[str, str]) -> list[str]:
    """The subcommand with its required arguments filled in."""
    parser = _parser_of(path)
    argv = list(path)
    for action in parser._actions:
        if action.option_strings and not action.required:
            continue
        if action.choices and isinstance(action.choices, dict):
            continue
        value = values.get(action.dest) or (action.choices[0] if action.choices else "Acme")
        if action.dest == "sid" and path[0] == "account":
            value = values["account"]
        if action.dest == "countries":
            value = "AU"
        argv += [*action.option_strings[:1], str(value)]
    for group in parser._mutually_exclusive_groups:  # one of them is required: the first
        if group.required:
            first = group._group_actions[0]
            argv += [first.option_strings[0], values.get(first.dest, "1")]
    return argv


def _takes_an_id(path: tuple[str, ...]) -> bool:
    return any(GOOD[name] in _arguments(path, GOOD) for name in BAD)


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


LEAVES = [path for path in parser_leaves(_parser()) if path not in NOT_RUN]
AWS_CONDITIONS = (
    "no region",
    "no credentials",
    "stack not found",
    "table not found",
    "endpoint unreachable",
    "throttled",
    "access denied",
)
LOCAL_CONDITIONS = ("missing info file", "stale info file")
# `smsgw local sim ... --carrier vonage`: that carrier's simulator gone with its stack, or
# never started by it.
SIM_CONDITIONS = ("stale info file, --carrier", "carrier not simulated")
# Every way the operator's environment can be wrong, for each subcommand it can fail.
CASES = (
    [
        (name, path)
        for name in (*AWS_CONDITIONS, *LOCAL_CONDITIONS)
        for path in LEAVES
        if path[0] in AWS_GROUPS or name in LOCAL_CONDITIONS
    ]
    + [(name, path) for name in SIM_CONDITIONS for path in LEAVES if path[:2] == ("local", "sim")]
    + [("bad ids", path) for path in LEAVES if _takes_an_id(path)]
)
CONDITIONS = list(dict.fromkeys(name for name, _ in CASES))


def _paths(name: str) -> list[tuple[str, ...]]:
    return [path for case, path in CASES if case == name]


# One subcommand per condition also runs as a process: the n-th condition's n-th
# subcommand (counting round), so they differ.
PROCESS_CASES = [(name, _paths(name)[n % len(_paths(name))]) for n, name in enumerate(CONDITIONS)]


def _case_id(case: tuple[str, tuple[str, ...]]) -> str:
    name, path = case
    return "-".join([*name.split(), *path])


@pytest.fixture(scope="module")
def conditions(tmp_path_factory, moto_url, throttling_url, denying_url) -> dict[str, Any]:
    """Each condition's global options, the working directory it runs in, and the values
    of the subcommand's arguments."""
    closed = f"http://127.0.0.1:{_closed_port()}"
    empty = tmp_path_factory.mktemp("empty")
    stale_info = {
        "AwsEndpointUrl": closed,
        "AwsCredentials": {"aws_access_key_id": "k", "aws_secret_access_key": "s"},
        "Region": "us-east-1",
        "StackName": "smsgw-local",
        "TableName": "smsgw-local-Table",
        "SimulatorUrl": closed,
        "Carrier": "twilio",
        "Simulators": {"twilio": closed, "vonage": closed},
    }
    stale = _with_info(tmp_path_factory.mktemp("stale"), stale_info)
    # a stack that simulated its own carrier only (as before there were several)
    one = {key: value for key, value in stale_info.items() if key != "Simulators"}
    single = _with_info(tmp_path_factory.mktemp("single"), one)
    vonage = ["--carrier", "vonage"]
    return {
        "no region": (["--stack", "smsgw"], empty, GOOD, []),
        "no credentials": (["--stack", "smsgw", "--region", "eu-west-1"], empty, GOOD, []),
        "stack not found": (["--endpoint-url", moto_url, "--stack", "smsgw"], empty, GOOD, []),
        "table not found": (["--endpoint-url", moto_url, "--table", "missing"], empty, GOOD, []),
        "endpoint unreachable": (["--endpoint-url", closed, "--table", "t"], empty, GOOD, []),
        "throttled": (["--endpoint-url", throttling_url, "--table", "t"], empty, GOOD, []),
        "access denied": (["--endpoint-url", denying_url, "--table", "t"], empty, GOOD, []),
        "missing info file": (["--local"], empty, GOOD, []),
        "stale info file": ([], stale, GOOD, []),
        "stale info file, --carrier": ([], stale, GOOD, vonage),
        "carrier not simulated": ([], single, GOOD, vonage),
        "bad ids": (["--endpoint-url", closed, "--table", "t"], empty, BAD, []),
    }


def _with_info(directory: Path, info: dict[str, Any]) -> Path:
    (directory / ".local-stack").mkdir(parents=True)
    (directory / ".local-stack" / "info.json").write_text(json.dumps(info))
    return directory


def _failure(name: str, argv: list[str], result: subprocess.CompletedProcess[str]) -> str | None:
    """What is wrong with how the run failed (None: one short line, no traceback)."""
    if (
        result.returncode == 0
        or "Traceback" in result.stderr
        or len(result.stderr.strip().splitlines()) != 1
        or len(result.stderr) > 300
        or not result.stderr.startswith("smsgw")
    ):
        return f"{name}: smsgw {' '.join(argv)} -> {result.returncode}\n{result.stderr}"
    return None


def test_every_subcommand_is_run_under_every_condition_it_can_meet():
    # Given the subcommands the parser has
    groups = {path[0] for path in LEAVES}

    # Then each group's conditions are known, and the cases are each of them under each
    assert groups == AWS_GROUPS | {"local"}, "classify the new group"
    assert len(CASES) > 100
    assert {path for name, path in CASES if name == "stale info file"} == set(LEAVES)
    assert {name for name, _ in PROCESS_CASES} == set(CONDITIONS)


@pytest.mark.parametrize(("name", "path"), CASES, ids=map(_case_id, CASES))
def test_no_subcommand_prints_a_traceback_on_an_expected_failure(
    name, path, conditions, monkeypatch
):
    # Given a subcommand and a way the operator's environment can be wrong
    options, cwd, values, more = conditions[name]
    argv = [*options, *_arguments(path, values), *more]

    # When it runs (through the entry point, in a process's environment)
    result = smsgw_in_process(argv, cwd, monkeypatch)

    # Then it fails with one short line on stderr, and no traceback
    assert _failure(name, argv, result) is None, _failure(name, argv, result)


@pytest.mark.parametrize(("name", "path"), PROCESS_CASES, ids=map(_case_id, PROCESS_CASES))
def test_no_subcommand_prints_a_traceback_on_an_expected_failure_as_a_process(
    name, path, conditions
):
    # Given a subcommand and a way the operator's environment can be wrong
    options, cwd, values, more = conditions[name]
    argv = [*options, *_arguments(path, values), *more]

    # When it runs as a process
    result = _run(argv, cwd)

    # Then it fails with one short line on stderr, and no traceback
    assert _failure(name, argv, result) is None, _failure(name, argv, result)


# Each positional argument that takes one of a fixed set of words (`on|off`), by its leaf.
WORD_ARGUMENTS = [
    (path, action.dest)
    for path in LEAVES
    for action in _parser_of(path)._actions
    if not action.option_strings and isinstance(action.choices, (list, tuple))
]


@pytest.mark.parametrize(
    ("path", "dest"), WORD_ARGUMENTS, ids=[f"{'-'.join(p)}-{d}" for p, d in WORD_ARGUMENTS]
)
def test_a_word_outside_an_arguments_choices_is_one_line_and_status_2(
    path, dest, tmp_path, monkeypatch
):
    # Given a subcommand whose argument is one of a few words, given another word
    argv = ["--table", "t", *_arguments(path, {**GOOD, dest: "maybe"})]

    # When it runs
    result = smsgw_in_process(argv, tmp_path, monkeypatch)

    # Then a usage error in one line names the words it takes, and nothing was called
    assert _failure("bad word", argv, result) is None, _failure("bad word", argv, result)
    assert result.returncode == 2 and "'maybe'" in result.stderr


def test_the_word_arguments_include_set_smart_encodings_on_or_off():
    assert (("property", "set-smart-encoding"), "setting") in WORD_ARGUMENTS


def test_the_error_lines_say_what_is_wrong_and_what_to_do(tmp_path, moto_url, monkeypatch):
    # Given the README's first command, the way an operator first types it
    account = ["account", "create", "--name", "Acme"]
    local = ["--local", *account]

    # When it runs without a region, without credentials, and against a moto server (as
    # it would as a process)
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return smsgw_in_process(list(argv), tmp_path, monkeypatch)

    no_region = run("--stack", "smsgw", *account).stderr
    no_credentials = run("--stack", "smsgw", "--region", "eu-west-1", *account)
    no_stack = run("--endpoint-url", moto_url, "--stack", "smsgw", *account)
    no_info = run(*local).stderr

    # Then each line names the fix
    assert "--region" in no_region and "--local" in no_region
    assert "credentials" in no_credentials.stderr and "--local" in no_credentials.stderr
    assert "smsgw" in no_stack.stderr and "--local" in no_stack.stderr
    assert "make serve" in no_info and ".local-stack/info.json" in no_info


def test_a_route_is_checked_against_the_carrier_secret_in_one_line(tmp_path, moto_url, monkeypatch):
    # Given a table, and a carrier secret that holds Twilio's keys only
    import boto3

    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    table = f"routes-{tmp_path.name}"[:60]
    session.client("dynamodb", endpoint_url=moto_url).create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    secret = f"carrier-{tmp_path.name}"
    session.client("secretsmanager", endpoint_url=moto_url).create_secret(
        Name=secret, SecretString=json.dumps({"AccountSid": "AC1", "AuthToken": "t"})
    )
    target = ["--endpoint-url", moto_url, "--table", table]

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return smsgw_in_process([*target, "route", "set", *argv], tmp_path, monkeypatch)

    # When a route names a carrier without credentials, an unknown one, a bad prefix, or
    # the secret is not where the option says
    no_keys = run("+61", "twilio,vonage", "--carrier-secret", secret)
    unknown = run("+61", "twilio,sinch", "--carrier-secret", secret)
    bad_prefix = run("61", "twilio", "--carrier-secret", secret)
    no_secret = run("+61", "twilio", "--carrier-secret", "nope")
    fine = run("+61", "twilio", "--carrier-secret", secret)

    # Then each is one line naming what is wrong; a good one is set
    for result in (no_keys, unknown, bad_prefix, no_secret):
        assert _failure("route", [], result) is None, result.stderr
    assert "'vonage'" in no_keys.stderr and "twilio" in no_keys.stderr
    assert "'sinch'" in unknown.stderr
    assert "+61" in bad_prefix.stderr
    assert "--carrier-secret" in no_secret.stderr
    assert fine.returncode == 0, fine.stderr


class _NotTheSimulatorHandler(BaseHTTPRequestHandler):
    """Answers every request with a web page, as whatever else listens on a port would."""

    def _page(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b"<html><body>Not the simulator</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page

    def log_message(self, *_: object) -> None:
        pass


class _HangingHandler(BaseHTTPRequestHandler):
    """Takes the request and answers nothing until the test is over."""

    def do_GET(self) -> None:
        self.server.arrived.set()  # type: ignore[attr-defined]
        self.server.released.wait(30)  # type: ignore[attr-defined]

    def log_message(self, *_: object) -> None:
        pass


def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.arrived = threading.Event()  # type: ignore[attr-defined]
    server.released = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.released.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def not_the_simulator_url() -> Iterator[str]:
    for server in _serving(_NotTheSimulatorHandler):
        yield f"http://127.0.0.1:{server.server_address[1]}"


SIM_LEAVES = [path for path in LEAVES if path[:2] == ("local", "sim")]


def _sim_arguments(path: tuple[str, ...], url: str) -> list[str]:
    """The sim subcommand with `--url` (an option of `sim`, so before the subcommand)."""
    argv = _arguments(path, GOOD)
    return [*argv[:2], "--url", url, *argv[2:]]


@pytest.mark.parametrize("path", SIM_LEAVES, ids=["-".join(p) for p in SIM_LEAVES])
def test_sim_against_a_server_that_is_not_the_simulator_says_so_in_one_line(
    path, not_the_simulator_url, tmp_path, monkeypatch
):
    # Given --url names a server that answers, but not in JSON
    argv = _sim_arguments(path, not_the_simulator_url)

    # When the sim subcommand runs
    result = smsgw_in_process(argv, tmp_path, monkeypatch)

    # Then one line names the URL and what to pass instead
    assert _failure("not the simulator", argv, result) is None, _failure(
        "not the simulator", argv, result
    )
    assert not_the_simulator_url in result.stderr and "--url" in result.stderr


def test_sim_against_a_server_that_is_not_the_simulator_says_so_as_a_process(
    not_the_simulator_url, tmp_path
):
    # Given --url names a server that answers a web page
    argv = _sim_arguments(("local", "sim", "messages"), not_the_simulator_url)

    # When `smsgw local sim messages` runs as a process
    result = _run(argv, tmp_path)

    # Then it fails with one short line, and no traceback
    assert _failure("not the simulator", argv, result) is None, _failure(
        "not the simulator", argv, result
    )


def test_sim_with_a_url_without_its_scheme_says_what_to_pass(tmp_path, monkeypatch):
    # Given --url without http://
    argv = ["local", "sim", "--url", "127.0.0.1:9", "messages"]

    # When it runs
    result = smsgw_in_process(argv, tmp_path, monkeypatch)

    # Then one line says how a URL is written
    assert _failure("no scheme", argv, result) is None, _failure("no scheme", argv, result)
    assert "http://" in result.stderr


def _interrupt(*_: object, **__: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("path", LEAVES, ids=["-".join(p) for p in LEAVES])
def test_ctrl_c_during_a_subcommand_is_one_line_and_status_130(path, tmp_path, monkeypatch):
    # Given Ctrl-C arrives while the subcommand waits on AWS or the simulator
    monkeypatch.setattr(cli, "admin_for", _interrupt)
    monkeypatch.setattr(requests.Session, "request", _interrupt)
    argv = (
        _sim_arguments(path, "http://127.0.0.1:9")
        if path in SIM_LEAVES
        else ["--table", "t", *_arguments(path, GOOD)]
    )

    # When it runs
    result = smsgw_in_process(argv, tmp_path, monkeypatch)

    # Then it says so in one line and exits as an interrupted command does
    assert (result.returncode, result.stderr) == (130, "smsgw: interrupted\n"), result.stderr


def test_ctrl_c_stops_a_running_smsgw_process_with_one_line(tmp_path):
    # Given `smsgw local sim messages` waiting on a server that does not answer
    for server in _serving(_HangingHandler):
        url = f"http://127.0.0.1:{server.server_address[1]}"
        argv = ["local", "sim", "--url", url, "messages"]
        # Started as from a terminal, even when the tests run in a background job, whose
        # processes start with Ctrl-C ignored (Python then never raises KeyboardInterrupt):
        # a handled signal is reset to its default in the new program, an ignored one is not.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "smsgw_tools.admin.cli", *argv],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            assert server.arrived.wait(30), "the command never called the server"

            # When the operator presses Ctrl-C
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
            process.wait()

    # Then one line, no traceback, and the status of an interrupted command
    assert (process.returncode, err, out) == (130, "smsgw: interrupted\n", "")
