"""`smsgw local up` writes its info file while the stack runs and removes it when it stops,
so a stopped stack leaves nothing for the CLI to mistake for a running one; `smsgw local
demo` keeps its function logs under `.local-stack/`, not in the temporary directory."""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from smsgw_tools.admin.cli_errors import CliError
from smsgw_tools.local import commands as local_commands
from smsgw_tools.local import demo, info


class _FakeStack:
    def __init__(self, *_, **__) -> None:
        self.stopped = False

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stopped = True

    def provision_demo(self):
        return {}

    def info(self):
        return {"ApiUrl": "http://127.0.0.1:9/v1", "AwsEndpointUrl": "http://127.0.0.1:9"}

    session = None


def _up(tmp_path) -> argparse.Namespace:
    return argparse.Namespace(
        port=0, carrier="twilio", carriers=None, info_file=tmp_path / "info.json"
    )


def test_the_info_file_exists_while_up_and_is_removed_on_ctrl_c(tmp_path, monkeypatch):
    monkeypatch.setattr(local_commands, "_print_info", lambda *_: None)
    monkeypatch.setattr("smsgw_tools.local.stack.LocalStack", _FakeStack)
    args, seen = _up(tmp_path), []

    def interrupt_once_written():
        deadline = time.monotonic() + 10
        while not args.info_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            seen.append(json.loads(args.info_file.read_text()))
        finally:  # a Ctrl-C whatever was read, so that a failure cannot hang the test
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_written, daemon=True).start()
    code = local_commands.up_command(args)

    assert code == 0 and seen[0]["AwsEndpointUrl"] == "http://127.0.0.1:9"
    assert not args.info_file.exists()


def test_a_command_reading_the_info_file_while_it_is_written_finds_none_or_all_of_it(
    tmp_path, monkeypatch
):
    # Given a write that has created its file and not yet filled it (a slow disk, a busy
    # machine), and a command that reads the info file at that moment
    target, read_meanwhile = tmp_path / "info.json", []
    write_text = Path.write_text

    def slow_write_text(self, data, *args, **kwargs):
        write_text(self, "", *args, **kwargs)
        read_meanwhile.append(_read(target))
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", slow_write_text)

    # When the local stack writes its info file
    with info.written(target, {"ApiUrl": "http://127.0.0.1:9/v1"}):
        whole = _read(target)

    # Then the command found no file (and said the stack is not running), never an empty one
    assert read_meanwhile == ["no local stack"]
    assert whole == {"ApiUrl": "http://127.0.0.1:9/v1"}
    assert list(tmp_path.iterdir()) == []


def _read(path):
    try:
        return info.read_info(path)
    except CliError as error:
        return str(error).split(":")[0]


def test_the_info_file_is_removed_when_the_stack_fails_after_writing_it(tmp_path, monkeypatch):
    def broken(*_):
        raise RuntimeError("printing failed")

    monkeypatch.setattr(local_commands, "_print_info", broken)
    monkeypatch.setattr("smsgw_tools.local.stack.LocalStack", _FakeStack)
    args = _up(tmp_path)

    with pytest.raises(RuntimeError):
        local_commands.up_command(args)

    assert not args.info_file.exists()


def test_the_demo_keeps_its_function_logs_under_local_stack(tmp_path, monkeypatch):
    # Given an empty temporary directory, and a demo whose stack logs a line
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.chdir(tmp_path)

    class LoggingStack(_FakeStack):
        def __init__(self, *_, log, **__) -> None:
            log.write("ApiFunction | START RequestId: 1\n")

    monkeypatch.setattr("smsgw_tools.local.stack.LocalStack", LoggingStack)
    monkeypatch.setattr(demo, "run_demo", lambda info, session, failover: 0)

    # When the demo runs
    code = demo.demo_command(argparse.Namespace(port=0))

    # Then its log is .local-stack/demo.log and nothing is left in the temporary directory
    assert code == 0
    assert (tmp_path / ".local-stack" / "demo.log").read_text().startswith("ApiFunction |")
    assert list(temp.iterdir()) == []
