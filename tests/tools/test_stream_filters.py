"""The notifier's stream source: the template's FilterCriteria as the local stack and the
tests apply it (smsgw_tools.local.streams), for receipts (a message's final status) and
replies (stored with forwards), the notifier's own check of each record
(smsgw.logic.outbox), and the local stream poller's retries (smsgw_tools.local.pollers)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from smsgw.dal.stream_records import forward_jobs_for_record, job_for_record
from smsgw_tools.local.pollers import StreamPoller
from smsgw_tools.local.runtime import Invocation
from smsgw_tools.local.streams import Filters, UnsupportedFilterError
from smsgw_tools.template.loading import load
from smsgw_tools.template.model import StreamTrigger
from tests.support import event

SAMPLE = event("dynamodb_final_status")["Records"][0]


@pytest.fixture(scope="module")
def template_filters() -> Filters:
    [trigger] = load().stream_triggers
    return trigger.filters


def changed(record: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """The sample record (a message become delivered) with `changes`: `eventName`, or a
    NewImage/OldImage attribute (None removes it)."""
    record = copy.deepcopy(record or SAMPLE)
    for name, value in changes.items():
        if name == "eventName":
            record["eventName"] = value
            continue
        image, attribute = name.split("__")
        if value is None:
            record["dynamodb"][image].pop(attribute, None)
        else:
            record["dynamodb"][image][attribute] = value
    return record


def test_the_template_filter_passes_a_final_status_with_a_receipt_webhook(template_filters):
    assert template_filters.matches(SAMPLE)
    for status in ("undelivered", "failed"):
        assert template_filters.matches(changed(NewImage__Status={"S": status}))
    # an update that changes nothing the filter reads passes too: the notifier decides
    late = changed(OldImage__Status={"S": "delivered"})
    assert template_filters.matches(late) and job_for_record(late) is None


@pytest.mark.parametrize(
    "record",
    [
        changed(eventName="INSERT"),
        changed(eventName="REMOVE"),
        changed(NewImage__Status={"S": "sent"}),
        changed(NewImage__Status={"S": "cancelled"}),
        changed(NewImage__DeliveryReceiptWebhookUri=None),
    ],
    ids=["insert", "remove", "sent", "cancelled", "no-uri"],
)
def test_the_template_filter_leaves_out_what_calls_for_no_webhook(template_filters, record):
    assert not template_filters.matches(record)
    assert job_for_record(record) is None  # and the notifier would drop it anyway


def test_delivery_receipt_false_is_the_notifiers_to_drop(template_filters):
    # The item holds DeliveryReceipt only when it is false (its default is not stored), so
    # the filter cannot ask for true; the notifier reads the flag through the model
    assert "DeliveryReceipt" not in SAMPLE["dynamodb"]["NewImage"]
    assert job_for_record(SAMPLE) is not None
    refused = changed(NewImage__DeliveryReceipt={"BOOL": False})
    assert template_filters.matches(refused) and job_for_record(refused) is None


def test_a_redactions_write_is_left_out(template_filters):
    # Given a delivered message's redaction: Redacted set, the status unchanged
    redaction = changed(OldImage__Status={"S": "delivered"}, NewImage__Redacted={"BOOL": True})

    # Then Lambda does not invoke the notifier for it (which would drop it anyway)
    assert not template_filters.matches(redaction)
    assert job_for_record(redaction) is None


def test_a_status_change_of_a_message_redacted_before_still_passes(template_filters):
    # Given a `sent` message whose text retention removed, then its receipt: delivered
    receipt = changed(
        OldImage__Status={"S": "sent"},
        OldImage__Redacted={"BOOL": True},
        NewImage__Redacted={"BOOL": True},
    )

    # Then its webhook is still called
    assert template_filters.matches(receipt)
    assert job_for_record(receipt) is not None


def test_the_template_filter_reads_the_key_prefix(template_filters):
    other = copy.deepcopy(SAMPLE)
    other["dynamodb"]["Keys"]["PK"] = {"S": "CALLBACKS#SM00000000000000000000000000000001"}
    assert not template_filters.matches(other)


REPLY_OPTIONS = {"ForwardToSms": "+61400999999", "WebhookUri": "https://a.example/replies"}


def reply_insert(
    *, forwards: bool = True, event_name: str = "INSERT", lease_id: str | None = "LS" + "1" * 32
) -> dict[str, Any]:
    """A stream record of a reply as the webhooks function stores it (dal/reply_store.py):
    on a live lease, with its `Forwards` when it is to be forwarded."""
    from boto3.dynamodb.types import TypeSerializer

    from smsgw.dal.reply_store import replies_partition
    from smsgw.models.lease import FORWARDS, forwards_attribute
    from tests.fakes.builders import a_reply

    reply = a_reply(lease_id=lease_id)
    keys = {
        "PK": replies_partition(reply.lease_id, reply.number),
        "SK": f"{reply.received_at}#{reply.reply_sid}",
    }
    item = {**keys, "Type": "Reply", **reply.to_item()}
    if forwards:
        item[FORWARDS] = forwards_attribute(REPLY_OPTIONS)
    serialize = TypeSerializer().serialize
    record = copy.deepcopy(SAMPLE)
    record["eventName"] = event_name
    record["dynamodb"] = {
        "Keys": {name: serialize(value) for name, value in keys.items()},
        "NewImage": {name: serialize(value) for name, value in item.items()},
        "SequenceNumber": "100",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if event_name == "MODIFY":
        record["dynamodb"]["OldImage"] = record["dynamodb"]["NewImage"]
    return record


def test_the_template_filter_passes_a_reply_stored_with_forwards(template_filters):
    record = reply_insert()

    assert template_filters.matches(record)
    # and the notifier queues its forwards from it
    assert [job.kind for job in forward_jobs_for_record(record)] == ["forward_sms", "reply"]
    assert job_for_record(record) is None  # no receipt webhook


@pytest.mark.parametrize(
    "record",
    [
        reply_insert(forwards=False),
        reply_insert(event_name="MODIFY"),
        reply_insert(event_name="REMOVE"),
        reply_insert(forwards=False, lease_id=None),
    ],
    ids=["no-forwards", "modify", "remove", "unmatched"],
)
def test_the_template_filter_leaves_out_a_reply_with_nothing_to_forward(template_filters, record):
    assert not template_filters.matches(record)
    assert forward_jobs_for_record(record) == []  # and the notifier would queue nothing


def test_filter_rules_exact_values_exists_and_prefix():
    filters = Filters.from_criteria(
        {
            "Filters": [
                {"Pattern": json.dumps({"a": ["x", 1, True], "b": {"c": [{"prefix": "p-"}]}})},
                {"Pattern": json.dumps({"d": [{"exists": False}], "e": [{"exists": True}]})},
            ]
        }
    )
    assert filters.matches({"a": "x", "b": {"c": "p-1"}})
    assert filters.matches({"a": 1, "b": {"c": "p-"}})
    assert filters.matches({"a": ["z", True], "b": {"c": "p-"}})  # any element of a list
    assert not filters.matches({"a": "1", "b": {"c": "p-1"}})  # "1" is not 1
    assert not filters.matches({"a": 1, "b": {"c": "q-p-"}})
    assert not filters.matches({"a": 1, "b": "p-1"})
    assert not filters.matches({"a": 1})
    assert filters.matches({"e": None})  # the second pattern: d absent, e present
    nested = Filters.from_criteria(
        {"Filters": [{"Pattern": json.dumps({"n": {"f": {"BOOL": [{"exists": False}]}}})}]}
    )
    assert nested.matches({"n": {}})  # leaf by leaf: under an absent field, absent too
    assert nested.matches({"n": {"f": {"S": "x"}}})
    assert not nested.matches({"n": {"f": {"BOOL": True}}})
    assert nested.matches({"other": 1})  # the leaf's path is absent from the top
    assert not filters.matches({"d": 0, "e": 1})
    assert Filters().matches({"anything": 1})


@pytest.mark.parametrize(
    "pattern",
    [
        {"a": [{"numeric": [">", 1]}]},
        {"a": [{"anything-but": ["x"]}]},
        {"a": [{"suffix": "x"}]},
        {"a": [{"exists": "yes"}]},
        {"a": []},
        {"a": "x"},
        {"$or": [{"a": ["x"]}, {"b": ["y"]}]},
    ],
)
def test_any_other_filter_rule_is_refused_loudly(pattern):
    with pytest.raises(UnsupportedFilterError):
        Filters.from_criteria({"Filters": [{"Pattern": json.dumps(pattern)}]})


class FakeReader:
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.position = 0
        self.rewinds: list[tuple[str, str]] = []

    def read(self, limit: int = 1000) -> dict[str, list[dict[str, Any]]]:
        found, self.position = self.records[self.position :], len(self.records)
        return {"shard-1": found} if found else {}

    def _index(self, sequence_number: str) -> int:
        return [r["dynamodb"]["SequenceNumber"] for r in self.records].index(sequence_number)

    def rewind(self, shard_id: str, sequence_number: str) -> None:
        self.rewinds.append(("at", sequence_number))
        self.position = self._index(sequence_number)

    def rewind_after(self, shard_id: str, sequence_number: str) -> None:
        self.rewinds.append(("after", sequence_number))
        self.position = self._index(sequence_number) + 1


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def numbered(count: int) -> list[dict[str, Any]]:
    records = []
    for n in range(count):
        record = copy.deepcopy(SAMPLE)
        record["dynamodb"]["SequenceNumber"] = str(100 + n)
        records.append(record)
    return records


def poller(records, answers, *, batch_size=2, retries=1):
    """A stream poller over `records` whose function answers with `answers(batch)`."""
    [trigger] = load().stream_triggers
    trigger = StreamTrigger(
        **{**trigger.__dict__, "batch_size": batch_size, "maximum_retry_attempts": retries}
    )
    calls: list[list[str]] = []

    def invoke(function: str, payload: dict[str, Any]) -> Invocation:
        batch = [r["dynamodb"]["SequenceNumber"] for r in payload["Records"]]
        calls.append(batch)
        return Invocation("id", True, answers(batch))

    sqs = FakeSqs()
    stream = StreamPoller(trigger, FakeReader(records), invoke, sqs=sqs, on_failure_url="dlq")
    stream._stopping.wait = lambda *_: False  # no pauses between retries
    return stream, calls, sqs


def test_the_stream_poller_retries_from_the_reported_record_then_gives_the_batch_up():
    # Given a function that always fails record 101 (the second of the first batch)
    def answers(batch):
        return {"batchItemFailures": [{"itemIdentifier": s} for s in batch if s == "101"]}

    stream, calls, sqs = poller(numbered(4), answers, batch_size=2, retries=1)

    # When the poller runs until the stream is read
    while stream.poll():
        pass

    # Then the shard is read again from 101 once (MaximumRetryAttempts 1); the batch that
    # failed again goes to the OnFailure queue, and the stream goes on after it
    assert calls == [["100", "101"], ["101", "102"], ["103"]]
    assert stream.reader.rewinds == [("at", "101"), ("after", "102")]
    [failure] = sqs.sent
    info = json.loads(failure["MessageBody"])["DDBStreamBatchInfo"]
    assert (failure["QueueUrl"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        "dlq",
        "101",
        "102",
    )


def test_the_stream_poller_passes_only_what_the_filter_passes():
    records = numbered(3)
    records[1]["eventName"] = "INSERT"
    stream, calls, _ = poller(records, lambda batch: {"batchItemFailures": []}, batch_size=10)

    stream.poll()

    assert calls == [["100", "102"]]


def test_a_record_that_is_no_message_is_dropped_not_retried():
    # A malformed item would fail every retry and hold its shard up: it is logged, dropped
    from smsgw.notify_batch import process_stream

    broken = changed(NewImage__To=None)

    assert process_stream([broken]) == {"batchItemFailures": []}
