"""The local stack over HTTP: API Gateway's behaviour, then one SMS from API to carrier, what
the demo (`make demo`) shows of it, the banner of `smsgw local up` (`make serve`), and
`local up` stopped by Ctrl-C."""

import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest
import requests

from smsgw_tools.local.demo import run_demo

pytestmark = pytest.mark.e2e

SMS = {"From": "+61499009990", "To": "+61488023555", "Text": "You win again, gravity!"}


def _sms_url(info: dict) -> str:
    return f"{info['ApiUrl']}/Properties/{info['PropertySid']}/Sms"


def test_request_without_authorization_is_unauthorized(local_stack):
    # When the send call comes without an Authorization header
    response = requests.post(_sms_url(local_stack), json=SMS, timeout=10)

    # Then the gateway answers 401 itself, as API Gateway does
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_unknown_route_is_not_found(local_stack):
    # When a path no route matches is requested
    response = requests.get(f"{local_stack['ApiUrl']}/Nothing/Here", timeout=10)

    # Then the gateway answers 404
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_sent_sms_reaches_the_carrier(local_stack):
    # Given the demo property's credentials
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    simulator = local_stack["SimulatorUrl"]
    requests.post(f"{simulator}/_sim/reset", timeout=10)

    # When an SMS is sent through the public API
    response = requests.post(_sms_url(local_stack), json=SMS, auth=auth, timeout=30)

    # Then it is queued, the sender hands it to the carrier, and it becomes sent
    assert response.status_code == 200, response.text
    message = response.json()["Message"]
    assert message["Status"] == "queued"
    url = f"{_sms_url(local_stack)}/{message['MessageSid']}"
    deadline = time.monotonic() + 15
    # (the simulator's receipt makes it delivered ~0.2 s after it is sent)
    while message["Status"] not in ("sent", "delivered") and time.monotonic() < deadline:
        time.sleep(0.2)
        message = requests.get(url, auth=auth, timeout=10).json()["Message"]
    assert message["Status"] in ("sent", "delivered")
    submissions = requests.get(f"{simulator}/_sim/messages", timeout=10).json()
    submissions = (
        submissions.get("messages", submissions) if isinstance(submissions, dict) else submissions
    )
    assert [(s["To"], s["Body"]) for s in submissions] == [(SMS["To"], SMS["Text"])]


def test_the_demo_shows_json_as_the_api_returns_it_and_says_what_each_receipt_did(
    twilio_stack, local_stack, capsys
):
    # When the demo runs against the stack
    code = run_demo(local_stack, twilio_stack.session)
    output = capsys.readouterr().out

    # Then the message's GET is printed as the API answers it, {"Message": ...}
    assert code == 0
    get = output.split("\nGET ", 1)[1].split("\n\nStatus timeline:", 1)[0]
    assert json.loads(get.split("-> 200\n", 1)[1]).keys() == {"Message"}
    # and a SmartEncoding send shows, in one line, the segments it saved
    assert "SmartEncoding: as typed UCS-2, 2 segments -> sent GSM-7, 1 segment: " in output
    # and no Python repr of a dict, list or string appears anywhere
    assert "{'" not in output and "['" not in output and ": 'YES'" not in output
    # and Twilio's routine `sent` receipt, when the message was already sent, is not "late"
    timeline = output.split("Status timeline:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert any("carrier receipt delivered" in line for line in timeline), timeline
    duplicates = [line for line in timeline if line.split()[1:4] == ["sent", "carrier", "receipt"]]
    assert not [line for line in duplicates if "late" in line], timeline


BANNER_END = "Ctrl-C stops everything."


def _lines_of(stream, into: queue.Queue) -> threading.Thread:
    def read() -> None:
        for line in stream:
            into.put(line.rstrip("\n"))
        into.put(None)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_local_up_prints_where_everything_is_and_an_admin_command_that_works_as_printed(
    tmp_path,
):
    # Given `smsgw local up --carrier eum` running as a process (its functions log during
    # start-up: the SNS subscriptions' confirmations), stdout and stderr in one stream
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    up = subprocess.Popen(
        [sys.executable, "-m", "smsgw_tools.admin.cli", "local", "up", "--port", "0",
         "--carrier", "eum"],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue = queue.Queue()
    reader = _lines_of(up.stdout, lines)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while BANNER_END not in output and time.monotonic() < deadline:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, "\n".join(output)
            output.append(line)
        info = json.loads((tmp_path / ".local-stack" / "info.json").read_text())

        # When the admin command it prints runs as printed, in the same directory
        [admin] = [line.strip() for line in output if line.strip().endswith("--name Acme")]
        created = subprocess.run(  # noqa: S603 - the command the banner printed
            shlex.split(admin), cwd=tmp_path, env=environment, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
        reader.join(timeout=10)
    while (line := lines.get_nowait()) is not None:
        output.append(line)

    # Then the banner names the API, the carrier's callback URLs, the webhook sink, the
    # stack and the moto endpoint, before any line a function logged
    banner = output[: output.index(BANNER_END) + 1]
    callbacks = f"{info['CarrierCallbackUrl']}/eum"
    for item in (
        info["ApiUrl"],
        f"{callbacks}/Receipts",
        f"{callbacks}/Responses",
        info["WebhookSinkUrl"],
        info["StackName"],
        info["AwsEndpointUrl"],
    ):
        assert any(item in line for line in banner), (item, banner)
    logged = [n for n, line in enumerate(output) if line.startswith("WebhooksFunction |")]
    assert logged and min(logged) > output.index(BANNER_END), output
    # and the admin command it printed acts on this stack
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("AccountSid=AC") and "AuthToken=" in created.stdout
    assert up.returncode == 0


def test_ctrl_c_stops_local_up_within_two_seconds_while_a_carrier_call_hangs(tmp_path):
    # Given `smsgw local up` as a process, its temporary files in a directory of its own
    temp, info_file = tmp_path / "tmp", tmp_path / "info.json"
    temp.mkdir()
    command = [sys.executable, "-m", "smsgw_tools.admin.cli", "local", "up", "--port", "0"]
    with (tmp_path / "output.log").open("w+") as output:
        up = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, "--info-file", str(info_file)],
            cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(temp)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            info = _started(up, info_file)
            # and a send whose carrier call hangs: the sender's invocation is in flight,
            # its message received from the send queue and not yet deleted
            simulator = info["SimulatorUrl"]
            fault = {"mode": "timeout", "count": 1}
            requests.post(f"{simulator}/_sim/faults", json=fault, timeout=10)
            auth = (info["AccountSid"], info["AuthToken"])
            sent = requests.post(_sms_url(info), json=SMS, auth=auth, timeout=30)
            assert sent.status_code == 200, sent.text
            _wait(lambda: requests.get(f"{simulator}/_sim/messages", timeout=10).json()["messages"])
            assert _in_flight(info, "SendQueue") == 1

            # When it gets SIGINT (Ctrl-C)
            interrupted = time.monotonic()
            up.send_signal(signal.SIGINT)
            code = up.wait(timeout=30)
            stopped_in = time.monotonic() - interrupted
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()
        output.seek(0)
        printed = output.read()

    # Then it exits within 2 s, cleanly, and leaves neither its info file nor temporary files
    assert stopped_in < 2.0, f"stopped in {stopped_in:.2f} s"
    assert code == 0 and "Traceback" not in printed, printed[-3000:]
    assert not info_file.exists()
    assert list(temp.iterdir()) == []


def _started(up: subprocess.Popen, info_file) -> dict:
    deadline = time.monotonic() + 120
    while not info_file.exists():
        assert up.poll() is None, "smsgw local up exited"
        assert time.monotonic() < deadline, "smsgw local up did not start in time"
        time.sleep(0.2)
    return json.loads(info_file.read_text())


def _wait(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _in_flight(info: dict, queue: str) -> int:
    credentials = info["AwsCredentials"]
    sqs = boto3.client(
        "sqs", region_name=info["Region"], endpoint_url=info["AwsEndpointUrl"], **credentials
    )
    attributes = sqs.get_queue_attributes(
        QueueUrl=info["QueueUrls"][queue], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])
