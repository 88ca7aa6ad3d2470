"""Scheduled sends: stored, released by the scheduler on time, once, and cancellable."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from smsgw.dal.message_store import MessageStore
from smsgw.dal.schedule_store import ScheduleStore
from smsgw.errors import ErrorCode
from smsgw.kernel.scheduling import bucket_of
from smsgw.logic.message_building import build_message
from smsgw.logic.schedule_release import Scheduler
from smsgw.logic.send_request_use_case import store_and_queue
from smsgw.models.send_request import parse_send_request
from tests.integration.conftest import queued_records
from tests.support import apply_environment

SIMPLE = {"From": "+61499009990", "To": "+61488023555", "Text": "Later"}
T0 = 1_800_000_030


class RecordingQueue:
    """SendQueue's interface, recording each job with its delay (SQS does not show them)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def enqueue(self, sid: str, delay: int = 0) -> None:
        with self._lock:
            self.jobs.append((sid, delay))

    def enqueue_many(self, jobs: list[tuple[str, int]]) -> None:
        with self._lock:
            self.jobs.extend(jobs)


@pytest.fixture
def queue():
    return RecordingQueue()


@pytest.fixture
def scheduler(table, queue):
    with ThreadPoolExecutor(4) as pool:
        yield Scheduler(ScheduleStore(table), queue.enqueue_many, lease_seconds=360, pool=pool)


@pytest.fixture
def schedule(table, queue, admin, tenant):
    """Accept a message due `ahead` seconds after T0, as the API does at time T0."""
    from smsgw.dal.tenant_store import TenantStore

    prop = TenantStore(table).get_property(tenant.property_sid)

    def accept(ahead: int) -> str:
        request = parse_send_request({**SIMPLE, "Schedule": T0 + ahead}, now=T0)
        message = build_message(request, prop, f"SM{ahead:032d}", T0, "api")
        return store_and_queue(MessageStore(table), queue, message, T0).message_sid

    return accept


def start_cursor_at(table, bucket):
    table.put_item(Item={"PK": "SCHEDULER", "SK": "CURSOR", "Bucket": bucket})


def test_each_due_time_is_queued_by_the_right_tick_with_the_remaining_delay(
    schedule, scheduler, queue, table
):
    offsets = [10, 14 * 60, 15 * 60 + 1, 3 * 86400, 14 * 86400]
    sids = {ahead: schedule(ahead) for ahead in offsets}
    # Due within 15 minutes: straight onto SendQueue with the delay, no scheduler needed.
    assert queue.jobs == [(sids[10], 10), (sids[840], 840)]
    queue.jobs.clear()
    start_cursor_at(table, bucket_of(T0) - 1)

    assert scheduler.tick(T0, "tick-1").released == 0
    assert scheduler.tick(T0 + 60, "tick-2").released == 1
    assert queue.jobs == [(sids[901], 841)]

    for ahead in (3 * 86400, 14 * 86400):
        queue.jobs.clear()
        due = T0 + ahead
        start_cursor_at(table, bucket_of(due) - 20)  # the scheduler has run all along
        tick = due - 960
        while not queue.jobs:
            scheduler.tick(tick, f"tick-{tick}")
            tick += 60
        (job,) = queue.jobs
        assert job[0] == sids[ahead]
        assert tick - 60 + job[1] == due  # leaves SendQueue on time to the second


def test_a_missed_tick_is_caught_up_by_the_next(schedule, scheduler, queue, table):
    first, second = schedule(16 * 60), schedule(17 * 60)
    start_cursor_at(table, bucket_of(T0))

    result = scheduler.tick(T0 + 180, "late")  # the ticks at +60 and +120 never ran

    assert result.released == 2
    assert sorted(queue.jobs) == sorted([(first, 16 * 60 - 180), (second, 17 * 60 - 180)])


def test_a_tick_run_twice_or_overlapping_queues_each_message_once(
    schedule, scheduler, queue, table
):
    sids = [schedule(16 * 60 + n) for n in range(30)]
    start_cursor_at(table, bucket_of(T0))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: scheduler.tick(T0 + 120, f"overlap-{n}"), range(4)))
    again = scheduler.tick(T0 + 120, "again")

    assert sum(r.released for r in results) == 30
    assert again.released == 0
    assert sorted(sid for sid, _ in queue.jobs) == sorted(sids)


def test_a_tick_that_dies_mid_way_loses_nothing(schedule, table, queue):
    sids = [schedule(16 * 60 + n) for n in range(20)]
    start_cursor_at(table, bucket_of(T0))
    calls = []

    def flaky(jobs):
        calls.append(jobs)
        if len(calls) == 1:
            raise RuntimeError("SQS unavailable")
        queue.enqueue_many(jobs)

    with ThreadPoolExecutor(1) as pool:
        broken = Scheduler(ScheduleStore(table), flaky, lease_seconds=360, pool=pool)
        with pytest.raises(RuntimeError):
            broken.tick(T0 + 120, "dies")
        broken.tick(T0 + 120, "next")

    assert set(sids) <= {sid for sid, _ in queue.jobs}


def test_cancel_before_the_claim_stops_the_send(
    api, tenant, functions, simulator, aws_session, stack
):
    due = int(time.time()) + 3
    sid = api.send({**SIMPLE, "Schedule": due}).body["Message"]["MessageSid"]
    path = f"/v1/Properties/{tenant.property_sid}/Sms/{sid}"

    cancelled = api.call("DELETE", path)
    time.sleep(max(0.0, due - time.time()) + 1.2)  # SQS delays are whole seconds
    records = queued_records(aws_session, stack)
    result = functions.invoke("sender", {"Records": records})

    assert cancelled.status == 200
    assert cancelled.body["Message"]["Status"] == "cancelled"
    assert [e["Status"] for e in cancelled.body["Message"]["Events"]] == ["scheduled", "cancelled"]
    assert len(records) == 1 and result == {"batchItemFailures": []}
    assert simulator.submissions() == []
    assert api.call("GET", path).body["Message"]["Status"] == "cancelled"


def test_cancel_after_the_claim_is_409(api, tenant, functions, simulator, aws_session, stack):
    sid = api.send(SIMPLE).body["Message"]["MessageSid"]
    functions.invoke("sender", {"Records": queued_records(aws_session, stack)})

    response = api.call("DELETE", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}")

    assert response.status == 409
    assert response.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_CANCELLABLE.number
    assert len(simulator.submissions()) == 1


def test_cancel_of_an_unknown_or_foreign_message_is_404(api, tenant):
    response = api.call("DELETE", f"/v1/Properties/{tenant.property_sid}/Sms/SM{'0' * 32}")
    assert response.status == 404
    assert response.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_FOUND.number


def test_a_cancelled_message_leaves_the_schedule(schedule, scheduler, queue, table, api, tenant):
    sid = schedule(16 * 60)
    start_cursor_at(table, bucket_of(T0))
    api.call("DELETE", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}")

    assert scheduler.tick(T0 + 120, "t").released == 0


def test_the_scheduler_handler_runs_a_tick(functions, table):
    from tests.support import event

    start_cursor_at(table, bucket_of(int(time.time())))
    result = functions.invoke("scheduler", event("scheduled_tick"))

    assert result == {"released": 0, "skipped": False}


def test_a_tick_releases_a_due_message_to_the_send_queue(api, functions, aws_session, stack, table):
    # Given a message accepted 20 minutes ahead, so it waits in the table
    from smsgw import minute_tick as entry

    now = int(time.time())
    start_cursor_at(table, bucket_of(now))
    response = api.send({**SIMPLE, "Schedule": now + 20 * 60})
    assert response.body["Message"]["Status"] == "scheduled"
    assert queued_records(aws_session, stack) == []

    # When the scheduler function's tick runs 10 minutes later
    apply_environment(stack.function_environment("SchedulerFunction"))
    entry.scheduler.cache_clear()
    with functions.running("SchedulerFunction"):
        result = entry.run_tick("t", now + 10 * 60)

    # Then the message is on SendQueue, delayed until it is due
    assert result.released == 1
    attributes = aws_session.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url("SendQueue"),
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
