"""`smsgw local sim ...` drives the running stack's carrier simulator over HTTP."""

import json

import pytest
import requests

from smsgw_tools.admin import cli

pytestmark = pytest.mark.e2e


def test_sim_commands_set_faults_latency_and_outcomes(local_stack, tmp_path, capsys):
    info_file = tmp_path / "info.json"
    info_file.write_text(json.dumps(local_stack))
    simulator = local_stack["SimulatorUrl"]

    def sim(*args):
        code = cli.main(["local", "sim", "--info-file", str(info_file), *args])
        return code, capsys.readouterr().out

    try:
        assert sim("fault", "429", "--count", "2", "--to", "+61488023555")[0] == 0
        fault = requests.get(f"{simulator}/_sim/faults", timeout=10).json()
        assert (
            sim(
                "outcome",
                "--to",
                "+61488023555",
                "--status",
                "undelivered",
                "--delay",
                "0.1",
                "--error-code",
                "30003",
            )[0]
            == 0
        )
        outcomes = requests.get(f"{simulator}/_sim/outcomes", timeout=10).json()
        code, messages = sim("messages")
    finally:
        sim("reset")

    assert (fault["mode"], fault["remaining"], fault["to"]) == ("429", 2, "+61488023555")
    assert "+61488023555" in json.dumps(outcomes) and "undelivered" in json.dumps(outcomes)
    assert code == 0 and "messages" in json.loads(messages)


def test_sim_without_a_running_stack_says_how_to_start_one(tmp_path, capsys):
    code = cli.main(["local", "sim", "--info-file", str(tmp_path / "none.json"), "messages"])

    err = capsys.readouterr().err
    assert code == 1 and "make serve" in err and len(err.strip().splitlines()) == 1


def test_sim_with_the_info_file_of_a_stopped_stack_says_so_in_one_line(tmp_path, capsys):
    # Given the info file of a stack that was killed (its simulator's port is closed)
    info_file = tmp_path / "info.json"
    info_file.write_text(json.dumps({"SimulatorUrl": "http://127.0.0.1:9"}))

    # When a sim command runs
    code = cli.main(["local", "sim", "--info-file", str(info_file), "messages"])

    # Then one line says the simulator cannot be reached and how to start it
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "http://127.0.0.1:9" in err and "make serve" in err and str(info_file) in err
