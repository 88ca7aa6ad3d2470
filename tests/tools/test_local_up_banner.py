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


TWO_CARRIERS = {
    "ApiUrl": "http://127.0.0.1:3000/v1",
    "CarrierCallbackUrl": "http://127.0.0.1:41151/v1/Carriers",
    "WebhookSinkUrl": "http://127.0.0.1:36595",
    "SimulatorUrl": "http://127.0.0.1:46333",
    "Carrier": "twilio",
    "Simulators": {"twilio": "http://127.0.0.1:46333", "vonage": "http://127.0.0.1:46334"},
    "StackName": "smsgw-local",
    "Region": "us-east-1",
    "AwsEndpointUrl": "http://127.0.0.1:43397",
    "TableName": "smsgw-local-Table",
    "QueueUrls": {},
    "AccountSid": "AC1",
    "AuthToken": "t",
    "PropertySid": "PR1",
}


def test_the_banner_names_each_carriers_simulator_and_how_to_see_a_failover():
    # Given a stack that simulates Twilio (its Carrier) and Vonage
    admin = ".venv/bin/smsgw account create --name Acme"

    # When its banner is made
    lines = local_commands.banner(TWO_CARRIERS, admin)

    # Then each simulator is on a line of its own, the stack's carrier marked
    sims = [line.split() for line in lines if "http://127.0.0.1:4633" in line]
    assert sims[0][:4] == ["Carrier", "sims", "twilio", "http://127.0.0.1:46333"], sims
    assert "Carrier," in sims[0] and sims[1] == ["vonage", "http://127.0.0.1:46334"], sims
    # and two commands show a failover: a route of both, and the first one failing
    assert "  .venv/bin/smsgw route set +61 twilio,vonage" in lines
    assert any(
        line.startswith("  .venv/bin/smsgw local sim fault 5xx --carrier twilio") for line in lines
    ), lines


def test_the_banner_of_a_stack_with_one_simulator_shows_no_failover():
    one = {**TWO_CARRIERS, "Simulators": {"twilio": "http://127.0.0.1:46333"}}

    lines = local_commands.banner(one, ".venv/bin/smsgw account create --name Acme")

    assert not [line for line in lines if "route set" in line or "sim fault" in line]
