"""`smsgw` against a local moto server: the local stack's info file, or a loopback
endpoint, is all it needs; and its help describes every subcommand.

`smsgw --local account create` runs as a process, which proves it of `smsgw` as a command;
the other commands run through its entry point in this process, under the environment a
process gets (`smsgw_in_process`)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsgw_tools.admin import cli
from smsgw_tools.admin.target import resolve_target
from smsgw_tools.local import iam
from smsgw_tools.local.moto_server import MotoServer
from smsgw_tools.local.resources import deploy
from tests.support import parser_subcommands, smsgw_in_process, smsgw_process


@pytest.fixture(scope="module")
def moto_with_stack() -> Iterator[dict[str, Any]]:
    """A moto server holding the template's resources as stack `smsgw-local`, IAM not yet
    enforced, and the admin key the local stack would write to its info file."""
    with MotoServer(iam=True) as server:
        import boto3

        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="t"
        )
        stack = deploy(session, "smsgw-local", endpoint_url=server.url)
        # Twilio's and Vonage's keys in the secret, as the local stack puts its simulators'
        secret = {"AccountSid": "AC" + "0" * 32, "AuthToken": "t"}
        secret["vonage"] = {"ApiKey": "k", "ApiSecret": "s", "SignatureSecret": "v"}
        session.client("secretsmanager", endpoint_url=server.url).put_secret_value(
            SecretId=stack.physical_ids["CarrierSecret"], SecretString=json.dumps(secret)
        )
        credentials = iam.create_admin(session.client("iam", endpoint_url=server.url))
        yield {
            "AwsEndpointUrl": server.url,
            "AwsCredentials": credentials,
            "Region": stack.region,
            "StackName": stack.name,
            "TableName": stack.physical_ids["Table"],
        }


def _smsgw(*argv: str, cwd: Path, patch: Any = None) -> subprocess.CompletedProcess[str]:
    """`smsgw --json ...` as a process, or in this process as it would run as one given
    `patch` (pytest's monkeypatch)."""
    if patch is not None:
        return smsgw_in_process(["--json", *argv], cwd, patch)
    return smsgw_process(["--json", *argv], cwd)


def _readme_admin_commands() -> list[list[str]]:
    """The admin commands README.md's "Operating it" shows, as arguments (optional ones,
    in brackets, left out); those for a deployed stack (`--stack`) aside."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Operating it") : readme.index("Deploying:")]
    commands = []
    for line in section.splitlines():
        if line.startswith(".venv/bin/smsgw ") and "--stack" not in line:
            command = re.sub(r"\[[^]]*\]", "", line.split("  #")[0])
            commands.append(shlex.split(command)[1:])
    return commands


def test_the_admin_commands_need_nothing_but_the_local_stack(
    moto_with_stack, tmp_path, monkeypatch
):
    info = moto_with_stack
    url = info["AwsEndpointUrl"]

    # Given a moto server that does not check credentials yet, the loopback endpoint and
    # the stack's name are enough: no region, no credentials
    loopback = _smsgw(
        "--endpoint-url", url, "--stack", "smsgw-local", "account", "create", "--name", "A",
        cwd=tmp_path, patch=monkeypatch,
    )  # fmt: skip
    assert loopback.returncode == 0, loopback.stderr
    assert json.loads(loopback.stdout)["AccountSid"].startswith("AC")

    # Given the server enforces IAM, and the info file a running stack writes
    iam.enforce(url)
    (tmp_path / ".local-stack").mkdir()
    (tmp_path / ".local-stack" / "info.json").write_text(json.dumps(info))

    # When the README's commands run with --local (as a process), and with no option at all
    created = _smsgw("--local", "account", "create", "--name", "Acme", cwd=tmp_path)
    listed = _smsgw("account", "list", cwd=tmp_path, patch=monkeypatch)
    dummy = _smsgw(
        "--endpoint-url", url, "--stack", "smsgw-local", "account", "list",
        cwd=tmp_path, patch=monkeypatch,
    )  # fmt: skip

    # Then both sign with the stack's admin key; dummy credentials are refused in one line
    assert created.returncode == 0, created.stderr
    acme = json.loads(created.stdout)["AccountSid"]
    assert listed.returncode == 0, listed.stderr
    assert acme in [a["AccountSid"] for a in json.loads(listed.stdout)]
    assert dummy.returncode != 0 and "--local" in dummy.stderr
    assert len(dummy.stderr.strip().splitlines()) == 1


def test_the_readme_admin_commands_work_against_the_local_stack_as_written(
    moto_with_stack, tmp_path, monkeypatch
):
    # Given the local stack's info file (IAM enforced by the previous test or now)
    iam.enforce(moto_with_stack["AwsEndpointUrl"])
    (tmp_path / ".local-stack").mkdir()
    (tmp_path / ".local-stack" / "info.json").write_text(json.dumps(moto_with_stack))
    commands, ids = _readme_admin_commands(), {}

    # When each command shown runs, with the ids the earlier ones printed
    results = []
    for command in commands:
        argv = [ids.get(arg[:2], arg) if arg.endswith("…") else arg for arg in command]
        result = smsgw_in_process(argv, tmp_path, monkeypatch)
        results.append((argv, result))
        if result.returncode == 0 and argv[:2] == ["account", "create"]:
            ids["AC"] = _sid(result.stdout, "AccountSid")
        if result.returncode == 0 and argv[:2] == ["property", "create"]:
            ids["PR"] = _sid(result.stdout, "PropertySid")

    # Then every one succeeds, and none prints a Python repr of a dict or list
    assert len(commands) >= 10
    failed = [f"{' '.join(argv)}: {r.stderr}" for argv, r in results if r.returncode != 0]
    assert not failed, failed
    reprs = [r.stdout for _, r in results if "{'" in r.stdout or "['" in r.stdout]
    assert not reprs, reprs


def _sid(output: str, name: str) -> str:
    return re.search(rf"{name}=(\w+)", output).group(1)


def test_an_explicit_stack_or_endpoint_is_not_overridden_by_the_info_file(tmp_path):
    # Given an info file in the working directory
    (tmp_path / ".local-stack").mkdir()
    (tmp_path / ".local-stack" / "info.json").write_text(
        json.dumps({"AwsEndpointUrl": "http://127.0.0.1:9", "TableName": "local"})
    )

    # When a table is named on the command line
    args = cli.build_parser().parse_args(["--table", "deployed", "account", "list"])
    target = resolve_target(args, cwd=tmp_path)

    # Then the info file is not used
    assert (target.table, target.endpoint_url, target.local_info) == ("deployed", None, None)


def test_every_subcommand_has_a_one_line_description():
    missing = [
        " ".join(path)
        for action, path, _ in parser_subcommands(cli.build_parser())
        if not next(
            (c.help for c in action._choices_actions if c.dest == path[-1] and c.help), None
        )
        or "\n" in next(c.help for c in action._choices_actions if c.dest == path[-1])
    ]

    assert not missing, f"no help: {missing}"


def test_account_disable_says_it_takes_effect_within_the_authorizer_cache_time():
    [help_text] = [
        c.help
        for action, path, _ in parser_subcommands(cli.build_parser())
        if path == ("account", "disable")
        for c in action._choices_actions
        if c.dest == "disable"
    ]

    assert "60 s" in help_text


def test_text_output_puts_each_object_of_a_list_on_its_own_line_never_a_python_repr():
    # Given a webhook secret during a rotation, and one with no previous secret
    rotating = {
        "PropertySid": "PR1",
        "WebhookSecret": "whsec_new",
        "PreviousWebhookSecrets": [{"Secret": "whsec_old", "ValidUntil": "2026-12-05T09:00:00Z"}],
    }
    settled = {**rotating, "PreviousWebhookSecrets": []}

    # When they are shown as text
    lines = cli.text_lines(rotating), cli.text_lines(settled)

    # Then each previous secret is a line of its own, and an empty list says none
    assert lines == (
        [
            "PropertySid=PR1  WebhookSecret=whsec_new",
            "  PreviousWebhookSecrets  Secret=whsec_old  ValidUntil=2026-12-05T09:00:00Z",
        ],
        ["PropertySid=PR1  WebhookSecret=whsec_new  PreviousWebhookSecrets=none"],
    )
