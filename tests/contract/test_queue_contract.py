"""What the sender, the API, the scheduler and reply routing rely on from SendQueue and
CallbackQueue: a job's body, batches of up to ten, and delays beyond SQS's limit accepted."""

from __future__ import annotations

from smsgw.models.callback import REPLY, CallbackJob
from smsgw.models.lease import FORWARD_SMS, ForwardJob
from tests.contract.conftest import message_sids


def test_a_send_job_names_its_message(stores):
    stores.send_queue.enqueue("SM1")
    stores.send_queue.enqueue("SM2", 0)

    assert sorted(message_sids(stores.sent_bodies("send"))) == ["SM1", "SM2"]


def test_a_batch_of_ten_jobs_is_queued_in_one_call(stores):
    stores.send_queue.enqueue_many([(f"SM{i}", 0) for i in range(10)])

    assert sorted(message_sids(stores.sent_bodies("send"))) == sorted(f"SM{i}" for i in range(10))


def test_a_delay_beyond_sqs_limits_is_accepted_and_the_job_is_not_visible_at_once(stores):
    stores.send_queue.enqueue("SM-late", 3600)
    stores.send_queue.enqueue("SM-overdue", -30)
    stores.send_queue.enqueue_many([("SM-batch-late", 7200)])

    assert message_sids(stores.sent_bodies("send")) == ["SM-overdue"]


def test_a_callback_job_is_queued_as_its_json(stores):
    forward = ForwardJob(FORWARD_SMS, {"ReplySid": "RE1", "Text": "YES"}, {"ForwardToSms": "+6"})
    webhook = CallbackJob("msg_1", "https://a.example/r", "POST", {"MessageSid": "SM1"}, REPLY)

    stores.callback_queue.enqueue(forward)
    stores.callback_queue.enqueue(webhook)

    assert sorted(stores.sent_bodies("callback")) == sorted([forward.to_json(), webhook.to_json()])
