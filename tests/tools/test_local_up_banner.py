"""The admin command `smsgw local up` prints works as printed: the same `smsgw`, and the
info file it wrote when that is not the one the admin CLI reads by default."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from smsgw_tools.local import commands as local_commands
from smsgw_tools.local.info import DEFAULT_INFO_FILE


def test_the_admin_command_is_the_smsgw_that_started_the_stack(monkeypatch):
    # Given `make serve`, which runs .venv/bin/smsgw local up
    monkeypatch.setattr(sys, "argv", [".venv/bin/smsgw", "local", "up"])

    # When the banner's admin command is made
    command = local_commands.admin_command(DEFAULT_INFO_FILE)

    # Then it is that smsgw, with nothing else to say where the stack is
    assert command == ".venv/bin/smsgw account create --name Acme"


def test_the_admin_command_names_an_info_file_other_than_the_default(monkeypatch):
    # Given the stack started as a module, writing its info to another file
    monkeypatch.setattr(sys, "argv", ["/src/smsgw_tools/admin/cli.py", "local", "up"])

    # When the banner's admin command is made
    command = shlex.split(local_commands.admin_command(Path("run/info.json")))

    # Then it runs the same module with this interpreter, and reads that file
    assert command == [
        sys.executable, "-m", "smsgw_tools.admin.cli", "--info-file", "run/info.json",
        "account", "create", "--name", "Acme",
    ]  # fmt: skip
