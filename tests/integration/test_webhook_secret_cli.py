"""`smsgw property webhook-secret show|rotate` against the tables built from the template."""

import json
import time

import pytest

from smsgw.dal.webhook_secrets import ROTATION_OVERLAP_SECONDS, WebhookSecretStore
from smsgw_tools.admin import cli


@pytest.fixture
def run(stack, capsys):
    def invoke(*args):
        code = cli.main(["--table", stack.physical_ids["Table"], "--json", *args])
        captured = capsys.readouterr()
        return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err

    return invoke


def test_property_is_created_with_a_secret_that_rotates_with_an_overlap(run, tenant):
    code, shown, _ = run("property", "webhook-secret", "show", tenant.property_sid)
    _, rotated, _ = run("property", "webhook-secret", "rotate", tenant.property_sid)
    _, during, _ = run("property", "webhook-secret", "show", tenant.property_sid)
    _, dropped, _ = run("property", "webhook-secret", "drop-previous", tenant.property_sid)

    assert code == 0 and shown["WebhookSecret"].startswith("whsec_")
    assert shown["PreviousWebhookSecrets"] == []
    assert rotated["WebhookSecret"] != shown["WebhookSecret"]
    assert [p["Secret"] for p in during["PreviousWebhookSecrets"]] == [shown["WebhookSecret"]]
    assert dropped == {
        "PropertySid": tenant.property_sid,
        "WebhookSecret": rotated["WebhookSecret"],
        "PreviousWebhookSecrets": [],
    }


def test_rotate_with_drop_previous_is_a_deprecated_drop_that_says_so(run, tenant):
    _, shown, _ = run("property", "webhook-secret", "show", tenant.property_sid)
    _, rotated, _ = run("property", "webhook-secret", "rotate", tenant.property_sid)

    code, dropped, err = run(
        "property", "webhook-secret", "rotate", tenant.property_sid, "--drop-previous"
    )

    assert code == 0 and dropped["WebhookSecret"] == rotated["WebhookSecret"]
    assert rotated["WebhookSecret"] != shown["WebhookSecret"]
    assert dropped["PreviousWebhookSecrets"] == []
    assert "deprecated" in err and "drop-previous PR" in err and len(err.splitlines()) == 1


def test_drop_previous_does_not_rotate(run, tenant):
    _, shown, _ = run("property", "webhook-secret", "show", tenant.property_sid)

    code, dropped, _ = run("property", "webhook-secret", "drop-previous", tenant.property_sid)

    assert code == 0 and dropped["WebhookSecret"] == shown["WebhookSecret"]


def test_previous_secret_stops_signing_after_the_overlap(aws_session, stack, tenant):
    store = WebhookSecretStore(aws_session.resource("dynamodb").Table(stack.physical_ids["Table"]))
    now = time.time()
    [old] = store.active_secrets(tenant.property_sid, now)

    store.rotate(tenant.property_sid, now)

    assert store.active_secrets(tenant.property_sid, now + 60)[0] == old
    later = store.active_secrets(tenant.property_sid, now + ROTATION_OVERLAP_SECONDS + 1)
    assert len(later) == 1 and later[0] != old


def test_property_without_a_secret_gets_one_on_first_use(aws_session, stack, tenant):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    table.update_item(
        Key={"PK": f"PROPERTY#{tenant.property_sid}", "SK": "PROPERTY"},
        UpdateExpression="REMOVE WebhookSecrets",
    )
    store = WebhookSecretStore(table)

    first = store.active_secrets(tenant.property_sid, time.time())
    again = store.active_secrets(tenant.property_sid, time.time())

    assert len(first) == 1 and first == again


def test_the_notifiers_cache_follows_a_rotation_within_its_minute(aws_session, stack, tenant):
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    admin, ticks = WebhookSecretStore(table), [0.0]
    cached = WebhookSecretStore(table, cache_seconds=60, clock=lambda: ticks[0])
    now = time.time()
    [first] = cached.active_secrets(tenant.property_sid, now)

    # When the secret is rotated elsewhere (the admin CLI), with an overlap of 30 s
    admin.rotate(tenant.property_sid, now, overlap_seconds=30)
    [_, newest] = [e["Secret"] for e in admin.entries(tenant.property_sid)]

    # Then a warm notifier signs with the previous secret (still valid) for its minute, and
    # with both once it has read the table again; an expiry is honoured from the cache too
    ticks[0] = 59
    assert cached.active_secrets(tenant.property_sid, now) == [first]
    ticks[0] = 61
    assert cached.active_secrets(tenant.property_sid, now) == [first, newest]
    ticks[0] = 70
    assert cached.active_secrets(tenant.property_sid, now + 31) == [newest]
