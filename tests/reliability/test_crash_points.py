"""Crash anywhere, lose nothing (issue #15): the API's write-then-queue boundary.

The API's send use case stores a message as `queued`, then sends its SendQueue job. Here the
function dies between the two for SMSGW_CRASH_MESSAGES messages (default 100): a
`BaseException` nothing catches, as a timeout or an out-of-memory kill would end it. For
others, SQS refuses the send (an error the function sees: it marks the message `failed` and
answers 500), and the rest are queued normally and sent. Then time is advanced, not slept:
the scheduler ticks once a simulated minute, and the sender handles whatever reaches
SendQueue (moto's, over the wire), as Lambda's event source would.

Every killed message must be sent exactly once within minutes of simulated time (its
recovery entry, docs/reliability.md); a refused one must stay `failed` and never be sent
(its caller got a 500); a normal one must not be sent again.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import replace

import pytest

from smsgw.kernel.scheduling import UNCLAIMED_GRACE_SECONDS
from tests.reliability.conftest import FROM, recipient
from tests.support import message_item, sqs_records

CRASHES = int(os.environ.get("SMSGW_CRASH_MESSAGES", "100"))
REFUSED = 10
NORMAL = 20


class ApiKilled(BaseException):
    """The API function's execution environment ending mid-request."""


class Queue:
    """SendQueue as the API function's use case sees it, dying or refused on demand."""

    def __init__(self, real) -> None:
        self._real = real
        self.mode = "normal"
        self.last: str | None = None  # the MessageSid of the last job asked for

    def enqueue(self, message_sid: str, delay_seconds: int = 0) -> None:
        self.last = message_sid
        if self.mode == "kill":
            raise ApiKilled(message_sid)
        if self.mode == "refuse":
            raise ConnectionError("SendQueue unavailable")
        self._real.enqueue(message_sid, delay_seconds)

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def test_an_api_killed_between_its_write_and_its_queue_send_loses_no_message(
    sender, tenant, simulator, stack, aws_session
):
    from smsgw import minute_tick, services

    sqs = aws_session.client("sqs")
    queue_url, queue_arn = stack.queue_url("SendQueue"), stack.queue_arn("SendQueue")
    queue = Queue(services.send_queue())
    use_case = replace(services.send_requests(), queue=queue)
    prop = services.tenants().get_property(tenant.property_sid)
    texts: dict[str, str] = {}  # Text -> MessageSid
    outcome: dict[str, str] = {}  # MessageSid -> kill, refuse or normal

    def send(n: int, mode: str) -> None:
        queue.mode, queue.last = mode, None
        text = f"Crash-point message {n}"
        try:
            accepted = use_case.accept(
                property_sid=prop.property_sid,
                account_sid=prop.account_sid,
                account_sms_enabled=True,
                read_body=lambda: {"From": FROM, "To": recipient(n), "Text": text},
            )
            sid = accepted.body["Message"]["MessageSid"]
        except (ApiKilled, ConnectionError):
            assert queue.last is not None  # the dead request stored its message first
            sid = queue.last
        texts[text], outcome[sid] = sid, mode

    def stored_sids() -> list[str]:
        table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
        return [
            i["PK"][len("MESSAGE#") :]
            for i in table.scan()["Items"]
            if i["PK"].startswith("MESSAGE#")
        ]

    def run_sender() -> int:
        records = sqs_records(sqs, queue_url, queue_arn)
        for start in range(0, len(records), 10):
            assert sender.invoke(records[start : start + 10]) == {"batchItemFailures": []}
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                    for i, r in enumerate(records[start : start + 10])
                ],
            )
        return len(records)

    # Given messages whose API request died after the write, was refused by SQS, or went well
    plan = ["kill"] * CRASHES + ["refuse"] * REFUSED + ["normal"] * NORMAL
    for n, mode in enumerate(plan):
        send(n, mode)
    assert sorted(stored_sids()) == sorted(outcome)  # each request stored one message
    jobs_at_once = run_sender()
    killed = {sid for sid, mode in outcome.items() if mode == "kill"}
    assert {message_item(aws_session, stack, sid)["Status"] for sid in killed} == {"queued"}

    # When the scheduler ticks once a simulated minute for ten minutes, and the sender
    # handles what it releases
    started = int(time.time())
    released, jobs_recovered, minutes_to_all = 0, 0, None
    for minute in range(1, 11):
        result = minute_tick.run_tick(f"tick-{minute}", now=started + 60 * minute)
        released += result.released
        jobs_recovered += run_sender()
        statuses = {message_item(aws_session, stack, sid)["Status"] for sid in killed}
        if minutes_to_all is None and statuses == {"sent"}:
            minutes_to_all = minute

    # Then every killed message was sent exactly once, within the grace and a tick of it
    submitted = Counter(s["Body"] for s in simulator.submissions())
    by_sid = {sid: submitted[text] for text, sid in texts.items()}
    assert {by_sid[sid] for sid in killed} == {1}
    assert minutes_to_all is not None
    assert minutes_to_all * 60 <= UNCLAIMED_GRACE_SECONDS + 60
    # ... a refused one (its caller got a 500) stayed failed and was never sent
    refused = {sid for sid, mode in outcome.items() if mode == "refuse"}
    assert {message_item(aws_session, stack, sid)["Status"] for sid in refused} == {"failed"}
    assert {by_sid[sid] for sid in refused} == {0}
    # ... and one that went well was not sent again: only the killed ones were released
    normal = {sid for sid, mode in outcome.items() if mode == "normal"}
    assert {by_sid[sid] for sid in normal} == {1}
    assert jobs_at_once == NORMAL
    assert released == jobs_recovered == CRASHES
    print(
        f"\ncrash points: API killed between write and queue for {CRASHES} messages, "
        f"{REFUSED} refused by SQS, {NORMAL} normal; recovered {released} by the scheduler, "
        f"all sent within {minutes_to_all} simulated minutes; submissions per killed message "
        f"{dict(Counter(by_sid[sid] for sid in killed))}, duplicates 0, stuck 0"
    )


@pytest.fixture
def tenant(tenant):
    return tenant
