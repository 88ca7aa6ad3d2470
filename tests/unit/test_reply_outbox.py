"""The table's stream as the replies' outbox (smsgw.logic.outbox.forward_jobs_for_change):
a stored reply's item with its `Forwards` gives exactly the forward jobs the webhooks
function queued before; any other change gives none."""

from __future__ import annotations

import pytest

from smsgw.logic.outbox import StreamChange, forward_jobs_for_change
from smsgw.logic.replies import forward_jobs
from smsgw.models.lease import (
    FORWARD_EMAIL,
    FORWARD_SMS,
    FORWARDS,
    REPLY_WEBHOOK,
    forwards_attribute,
    reply_webhook_id,
)
from tests.fakes.builders import a_reply

OPTIONS = {
    "ForwardToSms": "+61400999999",
    "ForwardToEmail": "ops@example.com",
    "WebhookUri": "https://a.example/replies",
    "WebhookMethod": "GET",
}
REPLY = a_reply(text="Yes please", keyword=None)
KEY = f"LEASEREPLIES#{REPLY.lease_id}"


def stored(options=OPTIONS, **changes) -> dict:
    """The reply's item as the webhooks function stores it (without its keys)."""
    item = {**REPLY.to_item(), **changes}
    if options is not None:
        item[FORWARDS] = forwards_attribute(options)
    return item


def test_a_reply_inserted_with_forwards_gives_the_jobs_the_webhooks_function_queued():
    # When the stream hands over a reply's insert with its forwards
    jobs = forward_jobs_for_change(StreamChange("INSERT", KEY, None, stored()))

    # Then the jobs are the ones built from the reply and the lease's options, to the byte
    assert [job.kind for job in jobs] == [FORWARD_SMS, FORWARD_EMAIL, REPLY_WEBHOOK]
    assert [job.to_json() for job in jobs] == [j.to_json() for j in forward_jobs(REPLY, OPTIONS)]
    webhook = jobs[2]
    assert (webhook.webhook_id, webhook.method, webhook.uri) == (
        reply_webhook_id(REPLY.reply_sid),
        "GET",
        OPTIONS["WebhookUri"],
    )
    assert webhook.payload["Text"] == "Yes please" and webhook.payload["Event"] == "reply"


def test_only_the_forwards_the_reply_was_stored_with_are_made():
    only_email = stored({"ForwardToEmail": "ops@example.com"})

    [job] = forward_jobs_for_change(StreamChange("INSERT", KEY, None, only_email))

    assert (job.kind, job.options) == (FORWARD_EMAIL, {"ForwardToEmail": "ops@example.com"})


@pytest.mark.parametrize(
    "change",
    [
        StreamChange("INSERT", KEY, None, stored(options=None)),
        StreamChange("MODIFY", KEY, None, stored()),
        StreamChange("REMOVE", KEY, None, {}),
        StreamChange("INSERT", "LEASEREPLIES#UNMATCHED#+61400000009", None, stored(None)),
        StreamChange("INSERT", "MESSAGE#SM1", None, stored()),
    ],
    ids=["no-forwards", "modify", "remove", "unmatched", "not-a-reply"],
)
def test_any_other_change_gives_no_forward(change):
    assert forward_jobs_for_change(change) == []


def test_an_unreadable_forwards_attribute_is_an_error_to_drop():
    with pytest.raises(ValueError):
        forward_jobs_for_change(
            StreamChange("INSERT", KEY, None, stored(None, **{FORWARDS: "[1]"}))
        )
