"""`smsgw local sim ... --carrier NAME` drives that carrier's simulator of the running local
stack (its info file's `Simulators`), and the stack's own carrier's without it."""

from __future__ import annotations

import json

import pytest

from smsgw_tools.admin import cli
from smsgw_tools.admin.cli_errors import CliError
from smsgw_tools.local.info import served_carriers
from smsgw_tools.local.sim_commands import simulator_url

INFO = {
    "SimulatorUrl": "http://127.0.0.1:46333",
    "Carrier": "twilio",
    "Simulators": {"twilio": "http://127.0.0.1:46333", "vonage": "http://127.0.0.1:46334"},
}


def _parsed(tmp_path, *argv: str):
    info_file = tmp_path / "info.json"
    info_file.write_text(json.dumps(INFO))
    return cli.build_parser().parse_args(["local", "sim", "--info-file", str(info_file), *argv])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fault", "5xx"], "http://127.0.0.1:46333"),
        (["fault", "5xx", "--carrier", "vonage"], "http://127.0.0.1:46334"),
        (["--carrier", "vonage", "fault", "5xx"], "http://127.0.0.1:46334"),
        (["messages", "--carrier", "twilio"], "http://127.0.0.1:46333"),
        (["reply", "--from", "+61488023555", "--to", "+614", "--body", "Y", "--carrier",
          "vonage"], "http://127.0.0.1:46334"),
    ],
)  # fmt: skip
def test_the_carrier_option_picks_that_carriers_simulator(tmp_path, argv, expected):
    assert simulator_url(_parsed(tmp_path, *argv)) == expected


def test_every_sim_subcommand_takes_the_carrier_option(tmp_path):
    sim = _parsed(tmp_path, "messages")
    names = ("messages", "receipts", "reset", "sns", "fault", "latency", "outcome", "reply")
    for name in names:
        required = {
            "fault": ["none"],
            "latency": ["0"],
            "outcome": ["--to", "+614", "--status", "delivered"],
            "reply": ["--from", "+614", "--to", "+614", "--body", "b"],
        }.get(name, [])
        parsed = _parsed(tmp_path, name, *required, "--carrier", "vonage")
        assert (parsed.sim_command, parsed.carrier) == (name, "vonage")
    assert sim.carrier is None


def test_a_carrier_the_stack_does_not_simulate_is_one_line_saying_how_to_start_it(tmp_path):
    args = _parsed(tmp_path, "messages", "--carrier", "eum")

    with pytest.raises(CliError) as refused:
        simulator_url(args)

    line = str(refused.value)
    assert "no eum simulator" in line and "twilio, vonage" in line
    assert "--carriers twilio,vonage,eum" in line and "\n" not in line


def test_the_stack_simulates_its_own_carrier_first_and_each_carrier_once():
    assert served_carriers("twilio") == ("twilio", "vonage")
    assert served_carriers("eum") == ("eum", "twilio", "vonage")
    assert served_carriers("vonage", ["twilio", "Vonage", "eum"]) == ("vonage", "twilio", "eum")
    with pytest.raises(ValueError, match="sinch"):
        served_carriers("twilio", ["sinch"])
