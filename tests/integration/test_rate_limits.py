"""Throughput limits through the real wiring under moto: the admin CLI sets, lists and
removes them; the sender's real handler, with a limit set, spaces its submissions at the
carrier simulator, and a message whose turn is further than a short sleep goes back to
SendQueue, unclaimed, as a new delayed job holding its turn, and is submitted once when
the job comes back."""

from __future__ import annotations

import json
import time
from datetime import datetime

from smsgw.errors import ErrorCode
from smsgw_tools.admin import cli
from tests.integration.conftest import queued_records
from tests.support import message_item

SIMPLE = {"From": "+61499009990", "To": "+61488023555"}


def test_rate_limits_are_set_listed_and_removed_with_the_cli(stack, capsys):
    def run(*args):
        code = cli.main(["--table", stack.physical_ids["Table"], "--json", *args])
        captured = capsys.readouterr()
        return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err

    # When limits are set, one changed, listed and one removed
    code, added, note = run("rate", "set", "twilio", "20")
    run("rate", "set", "twilio", "1", "--sender", "+14155550100")
    run("rate", "set", "Vonage", "30")
    _, changed, _ = run("rate", "set", "vonage", "0.5")
    _, listed, _ = run("rate", "list")
    _, removed, _ = run("rate", "remove", "twilio", "--sender", "+14155550100")
    _, after, _ = run("rate", "list")
    gone, _, missing = run("rate", "remove", "twilio", "--sender", "+14155550100")
    refused, _, invalid = run("rate", "set", "twilio", "-3")

    # Then each is shown as stored, and a change says when it takes effect
    assert code == 0 and added["Carrier"] == "twilio" and added["Rate"] == 20
    assert "within a minute" in note
    assert changed["Rate"] == 0.5
    assert [(x["Carrier"], x.get("Sender"), x["Rate"]) for x in listed] == [
        ("twilio", None, 20),
        ("twilio", "+14155550100", 1),
        ("vonage", None, 0.5),
    ]
    assert removed["Sender"] == "+14155550100"
    assert [(x["Carrier"], x.get("Sender")) for x in after] == [("twilio", None), ("vonage", None)]
    # a missing limit, and a rate that cannot be held, are one line each
    assert gone == 1 and missing.strip() == "smsgw: No rate limit is set for twilio#+14155550100."
    assert refused == 1 and "at most 1000" in invalid and len(invalid.splitlines()) == 1
    assert ErrorCode.RATE_LIMIT_INVALID.number == 22008


MESSAGES = 8  # at 2 a second, the last turns are more than MAX_SLEEP_SECONDS ahead


def test_a_limited_carrier_gets_a_batch_spaced_and_a_later_turn_waits_in_the_queue(
    api, functions, simulator, admin, aws_session, stack
):
    # Given the carrier limited to 2 messages a second, and eight messages queued at once
    admin.set_rate("twilio", "2")
    sids = [
        api.send({**SIMPLE, "Text": f"Paced {n}"}).body["Message"]["MessageSid"]
        for n in range(MESSAGES)
    ]
    records = queued_records(aws_session, stack)

    # When the sender takes them in one batch
    started = time.time()
    result = functions.invoke("sender", {"Records": records})

    # Then five go, half a second apart (the fifth's turn, 2 s ahead, is slept for) ...
    assert result == {"batchItemFailures": []}
    submitted = simulator.submissions()
    # (four when the machine is so loaded that a turn went by before its claim was made;
    # six or seven when it booked the later turns so late that they were 2 s ahead or less)
    assert 4 <= len(submitted) <= 7
    times = sorted(datetime.fromisoformat(s["received_at"]).timestamp() for s in submitted)
    # a request leaves at its turn, never before: the k-th turn is k half-seconds after the
    # first, which is after `started`, so the k-th arrival is no earlier, however late a
    # loaded machine makes any of them (a 10 ms margin for the simulator's stamp)
    assert all(at >= started + 0.5 * k - 0.01 for k, at in enumerate(times))
    assert times[-1] - started < 3.5
    # ... and the others are queued again holding their turns: unclaimed (a turn that went
    # by before its claim: the claim given back)
    waiting = [
        (item["Status"], item.get("SubmitState"))
        for item in (message_item(aws_session, stack, sid) for sid in sids)
        if item["Status"] != "sent"
    ]
    assert len(waiting) == MESSAGES - len(submitted)
    assert set(waiting) <= {("queued", None), ("sending", "retryable")}
    assert ("queued", None) in waiting

    # When their jobs come back (after their DelaySeconds), each is submitted once
    for _ in range(10):
        time.sleep(1.1)
        again = queued_records(aws_session, stack)
        assert all(json.loads(r["body"])["Turn"]["Carrier"] == "twilio" for r in again)
        if again:
            functions.invoke("sender", {"Records": again})
        if len(simulator.submissions()) == MESSAGES:
            break
    submitted = simulator.submissions()
    assert sorted(s["Body"] for s in submitted) == [f"Paced {n}" for n in range(MESSAGES)]
    arrived = sorted(datetime.fromisoformat(s["received_at"]).timestamp() for s in submitted)
    assert arrived[-1] - arrived[0] >= (MESSAGES - 1) * 0.5 - 0.35
    assert all(message_item(aws_session, stack, sid)["Status"] == "sent" for sid in sids)
