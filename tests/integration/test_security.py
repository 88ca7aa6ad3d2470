"""Security properties of the API and the carrier callbacks, in-process under moto (#8).

- no customer route answers without valid credentials (401, nothing stored);
- one account cannot read, list, cancel or see the replies of another's messages;
- forged carrier callbacks change nothing;
- internal webhook targets are refused when the message is sent (SSRF);
- AuthTokens and Authorization headers never reach the logs;
- nothing a customer sends can become an e-mail header line.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from urllib.parse import urlsplit

import pytest

from smsgw.errors import ErrorCode
from smsgw.kernel.addresses import is_internal_address
from smsgw_tools.template.loading import load
from tests.integration.conftest import Api, Tenant, queued_records
from tests.moto_snapshots import deploy_once
from tests.receipt_helpers import receipt_form, twilio_receipt_event
from tests.support import basic_auth

BASE = "http://127.0.0.1:9"
BODY = {"From": "+61499009990", "To": "+61488023555", "Text": "Secret plans"}
CUSTOMER_ROUTES = [r for r in load().routes if r.function == "ApiFunction"]
UNAUTHENTICATED = ErrorCode.UNAUTHENTICATED.number


@pytest.fixture
def stack(aws_session):
    # Carrier signatures cover the URL; receipts are sent to this base.
    return deploy_once(aws_session, parameters={"PublicBaseUrl": BASE})


@pytest.fixture
def rival(admin) -> Tenant:
    account = admin.create_account("Rival")
    prop = admin.create_property(account["AccountSid"], "Rival shop")
    return Tenant(account["AccountSid"], account["AuthToken"], prop["PropertySid"])


def table_items(aws_session, stack) -> list[dict]:
    table = aws_session.resource("dynamodb").Table(stack.physical_ids["Table"])
    return sorted(table.scan()["Items"], key=lambda i: (i["PK"], i["SK"]))


def queue_depth(aws_session, stack, logical_id="SendQueue") -> int:
    attributes = aws_session.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url(logical_id),
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def path_of(route, tenant: Tenant, message_sid: str) -> str:
    return route.path.replace("{PropertySid}", tenant.property_sid).replace(
        "{MessageSid}", message_sid
    )


# ----- Credentials ----------------------------------------------------------------------


def test_every_customer_route_sits_behind_the_basic_auth_authorizer():
    # API Gateway answers a request without the identity header (Authorization) itself,
    # 401, before any function runs: that holds for a route only if it has the authorizer.
    template = load()
    assert {r.route_key for r in CUSTOMER_ROUTES} >= {
        "POST /v1/Properties/{PropertySid}/Sms",
        "GET /v1/Properties/{PropertySid}/Sms",
        "GET /v1/Properties/{PropertySid}/Sms/{MessageSid}",
        "DELETE /v1/Properties/{PropertySid}/Sms/{MessageSid}",
    }
    for route in CUSTOMER_ROUTES:
        assert route.authorizer == "BasicAuth", route
    assert template.authorizers["BasicAuth"].identity_headers == ("Authorization",)
    # And nothing but the carrier callbacks is open.
    open_routes = {r.path for r in template.routes if r.authorizer is None}
    assert all(p.startswith("/v1/Carriers/{Carrier}/") for p in open_routes), open_routes


def bad_credentials(tenant: Tenant, rival: Tenant) -> dict[str, str | None]:
    return {
        "none": None,
        "empty": "",
        "basic-without-credentials": "Basic",
        "not-base64": "Basic !!!not-base64!!!",
        "no-colon": "Basic " + base64.b64encode(tenant.account_sid.encode()).decode(),
        "bearer": f"Bearer {tenant.auth_token}",
        "wrong-token": basic_auth(tenant.account_sid, tenant.auth_token[:-1] + "x"),
        "empty-token": basic_auth(tenant.account_sid, ""),
        "token-of-another-account": basic_auth(tenant.account_sid, rival.auth_token),
        "unknown-account": basic_auth("AC" + "0" * 32, tenant.auth_token),
        "sid-in-wrong-case": basic_auth(tenant.account_sid.lower(), tenant.auth_token),
        "garbled": "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
        "huge": "Basic " + "A" * 20000,
    }


@pytest.mark.parametrize("route", CUSTOMER_ROUTES, ids=lambda r: r.route_key)
def test_no_customer_route_answers_without_valid_credentials(
    route, api, tenant, rival, aws_session, stack
):
    # Given a stored message of the tenant
    sent = api.send(BODY)
    assert sent.status == 200
    sid = sent.body["Message"]["MessageSid"]
    before = (table_items(aws_session, stack), queue_depth(aws_session, stack))

    for name, authorization in bad_credentials(tenant, rival).items():
        # When the route is called with missing, garbled or wrong credentials
        response = api.call(
            route.method,
            path_of(route, tenant, sid),
            body=BODY if route.method == "POST" else None,
            authorization=authorization,
        )
        # Then it is a 401 in the API's format, and nothing is stored, queued or changed
        assert response.status == 401, (name, response.body)
        assert response.body["Error"]["Code"] == UNAUTHENTICATED, name
        assert "Secret plans" not in json.dumps(response.body)
    assert (table_items(aws_session, stack), queue_depth(aws_session, stack)) == before


# ----- Tenancy --------------------------------------------------------------------------


@pytest.fixture
def rival_api(functions, rival) -> Api:
    return Api(functions, rival)


@pytest.mark.parametrize("route", CUSTOMER_ROUTES, ids=lambda r: r.route_key)
def test_one_account_cannot_reach_another_accounts_messages(
    route, api, rival_api, tenant, rival, aws_session, stack
):
    # Given a message of the tenant, scheduled so that it could still be cancelled
    sent = api.send(BODY | {"Schedule": int(time.time()) + 86400})
    assert sent.status == 200, sent.body
    sid = sent.body["Message"]["MessageSid"]
    before = table_items(aws_session, stack)

    # When the rival account calls the route on the tenant's property, and on its own
    # property with the tenant's MessageSid
    on_their_property = rival_api.call(
        route.method,
        path_of(route, tenant, sid),
        body=BODY if route.method == "POST" else None,
    )
    on_own_property = rival_api.call(
        route.method,
        path_of(route, rival, sid),
        body=BODY if route.method == "POST" else None,
    )

    # Then the tenant's property does not exist for it (404, not 403) ...
    assert on_their_property.status == 404, on_their_property.body
    assert on_their_property.body["Error"]["Code"] == ErrorCode.PROPERTY_NOT_FOUND.number
    # ... its own property has no such message (a send there is its own, new message) ...
    if "{MessageSid}" in route.path:
        assert on_own_property.status == 404, on_own_property.body
        assert on_own_property.body["Error"]["Code"] == ErrorCode.MESSAGE_NOT_FOUND.number
    else:
        assert on_own_property.status == 200
        assert sid not in json.dumps(on_own_property.body)
        assert "Secret plans" not in json.dumps(on_own_property.body.get("Messages", [])), (
            "the rival's listing shows the tenant's message"
        )
    # ... and nothing of the tenant's changed
    after = [
        i
        for i in table_items(aws_session, stack)
        if rival.account_sid not in json.dumps(i, default=str)
    ]
    assert after == [i for i in before if rival.account_sid not in json.dumps(i, default=str)]
    assert (
        api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}").body["Message"]["Status"]
        == sent.body["Message"]["Status"]
    )


def test_replies_route_of_another_accounts_message_is_not_found(api, rival_api, tenant, rival):
    route_key = "GET /v1/Properties/{PropertySid}/Sms/{MessageSid}/Responses"
    if route_key not in {r.route_key for r in CUSTOMER_ROUTES}:
        pytest.skip("the replies route is not in template.yaml yet")
    sid = api.send(BODY).body["Message"]["MessageSid"]
    theirs = rival_api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses")
    own = rival_api.call("GET", f"/v1/Properties/{rival.property_sid}/Sms/{sid}/Responses")
    assert (theirs.status, theirs.body["Error"]["Code"]) == (404, 20104)
    assert (own.status, own.body["Error"]["Code"]) == (404, 20105)
    mine = api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}/Responses")
    assert mine.status == 200 and mine.body["MessageSid"] == sid


# ----- Forged carrier callbacks ---------------------------------------------------------


@pytest.fixture
def submitted(api, functions, aws_session, stack, simulator):
    """A message the carrier accepted: (MessageSid, its StatusCallback URL, carrier sid)."""
    sid = api.send(BODY).body["Message"]["MessageSid"]
    assert functions.invoke("sender", {"Records": queued_records(aws_session, stack)}) == {
        "batchItemFailures": []
    }
    submission = next(s for s in simulator.submissions() if s["Body"] == BODY["Text"])
    return sid, submission["StatusCallback"], submission["sid"]


def forged_receipts(url: str, carrier_sid: str, token: str) -> dict[str, dict]:
    form = receipt_form(carrier_sid, "delivered")
    parts = urlsplit(url)
    other_url = f"{parts.scheme}://{parts.netloc}{parts.path}?smsgw_sid=SM{'0' * 32}"
    replay = twilio_receipt_event(url, form, token)
    # Replayed with a changed body: the signature of the genuine delivered receipt,
    # the body now saying failed.
    changed = dict(form, MessageStatus="failed", SmsStatus="failed", ErrorCode="30008")
    replay["body"] = twilio_receipt_event(url, changed, token)["body"]
    return {
        "unsigned": twilio_receipt_event(url, form, token, signed=False),
        "wrong-signature": twilio_receipt_event(url, form, token, signature_value="AAAA"),
        "wrong-token": twilio_receipt_event(url, form, token + "x"),
        "signed-for-another-url": twilio_receipt_event(
            url,
            form,
            token,
            signature_value=twilio_receipt_event(other_url, form, token)["headers"][
                "x-twilio-signature"
            ],
        ),
        "signed-for-the-reply-route": twilio_receipt_event(
            url,
            form,
            token,
            signature_value=twilio_receipt_event(
                url.replace("/Receipts", "/Responses"), form, token
            )["headers"]["x-twilio-signature"],
        ),
        "replayed-with-changed-body": replay,
    }


def test_forged_carrier_receipts_change_nothing(
    submitted, functions, simulator, aws_session, stack
):
    _, url, carrier_sid = submitted
    before = table_items(aws_session, stack)
    callbacks = queue_depth(aws_session, stack, "CallbackQueue")

    for name, event in forged_receipts(url, carrier_sid, simulator.auth_token).items():
        # When a forged receipt arrives
        result = functions.invoke("webhooks", event)
        # Then it is refused and nothing is stored or queued
        assert result["statusCode"] == 403, (name, result)
        assert json.loads(result["body"])["Error"]["Code"] == 24001, name
    assert table_items(aws_session, stack) == before
    assert queue_depth(aws_session, stack, "CallbackQueue") == callbacks

    # And the genuine receipt still applies (the forgeries were refused for what they are)
    genuine = functions.invoke(
        "webhooks",
        twilio_receipt_event(url, receipt_form(carrier_sid, "delivered"), simulator.auth_token),
    )
    assert (genuine["statusCode"], json.loads(genuine["body"])) == (200, {"Receipt": "applied"})


def test_forged_inbound_replies_store_nothing(functions, simulator, aws_session, stack):
    url = f"{BASE}/v1/Carriers/twilio/Responses"
    form = {
        "MessageSid": "SM" + "1" * 32,
        "From": "+61488023555",
        "To": "+61400000001",
        "Body": "STOP",
    }
    before = table_items(aws_session, stack)
    for event in (
        twilio_receipt_event(url, form, simulator.auth_token, signed=False),
        twilio_receipt_event(url, form, simulator.auth_token + "x"),
        twilio_receipt_event(
            url,
            form,
            simulator.auth_token,
            signature_value=twilio_receipt_event(
                url.replace("/Responses", "/Receipts"), form, simulator.auth_token
            )["headers"]["x-twilio-signature"],
        ),
    ):
        result = functions.invoke("webhooks", event)
        assert result["statusCode"] == 403, result
    assert table_items(aws_session, stack) == before


# ----- SSRF -----------------------------------------------------------------------------

INTERNAL_URIS = [
    "http://127.0.0.1/hook",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::7f00:1]/hook",  # IPv4-compatible IPv6 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of 169.254.169.254
    "http://[::ffff:169.254.169.254]/hook",
    "http://[fe80::1%25eth0]/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
    "http://0/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://localhost:8080/hook",
    "http://127.0.0.1./hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0x7f.0.0.1/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://2852039166/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "https://user:pass@hooks.example.com/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
]


def test_internal_webhook_targets_are_refused_at_send_time(api, aws_session, stack):
    before = (table_items(aws_session, stack), queue_depth(aws_session, stack))
    for uri in INTERNAL_URIS:
        for field, body in (
            ("DeliveryReceiptWebhookUri", BODY | {"DeliveryReceiptWebhookUri": uri}),
            # WebhookUri is lease-only: From blank.
            ("WebhookUri", {"To": BODY["To"], "Text": "hi", "WebhookUri": uri}),
        ):
            response = api.send(body)
            assert response.status == 400, (uri, field, response.body)
            assert response.body["Error"]["Code"] == ErrorCode.WEBHOOK_URI_INVALID.number
            assert response.body["Error"]["Parameter"] == field
    assert (table_items(aws_session, stack), queue_depth(aws_session, stack)) == before


def test_public_webhook_targets_are_accepted(api):
    for uri in ("https://hooks.example.com/r", "http://93.184.216.34/r", "https://cafe.be/r"):
        assert api.send(BODY | {"DeliveryReceiptWebhookUri": uri}).status == 200, uri


def test_numeric_host_forms_are_judged_as_the_address_they_spell():
    assert is_internal_address("2130706433")  # 127.0.0.1
    assert is_internal_address("0xa9fea9fe")  # 169.254.169.254
    assert is_internal_address("012.0.0.1")  # 10.0.0.1
    assert not is_internal_address("16843009")  # 1.1.1.1
    assert not is_internal_address("cafe.be")
    assert not is_internal_address("hooks.example.com")


# ----- Logs -----------------------------------------------------------------------------


@pytest.fixture
def captured_logs(capsys):
    """Everything the functions log (Powertools Logger, JSON on stdout), at DEBUG."""
    from smsgw.observability import logger

    handler = logger.registered_handler
    stream, level = handler.stream, logger.log_level
    # capsys's stdout for this test (assigned, not setStream: that flushes the old one,
    # which may be an earlier test's closed capture)
    handler.stream = sys.stdout
    logger.setLevel("DEBUG")
    try:
        yield lambda: capsys.readouterr()
    finally:
        handler.stream = stream
        logger.setLevel(level)


def test_tokens_and_authorization_headers_are_never_logged(api, tenant, rival, captured_logs):
    wrong = basic_auth(tenant.account_sid, rival.auth_token)
    secrets = {
        tenant.auth_token,
        rival.auth_token,
        tenant.authorization,
        tenant.authorization.split(" ", 1)[1],
        wrong,
        wrong.split(" ", 1)[1],
    }
    # When authenticated and failed calls go through the authorizer and the api
    sent = api.send(BODY)
    assert sent.status == 200
    sid = sent.body["Message"]["MessageSid"]
    api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms/{sid}")
    api.call("GET", f"/v1/Properties/{tenant.property_sid}/Sms")
    assert api.send(BODY, authorization=wrong).status == 401
    assert api.send(BODY, authorization=f"Bearer {tenant.auth_token}").status == 401
    assert api.send({"Text": tenant.auth_token}).status == 400  # a token in a refused body

    # Then the logs say what happened, and no token or Authorization value is in them
    out, err = captured_logs()
    logs = out + err
    assert '"authorized"' in logs and "request refused" in logs, logs[:2000]
    for secret in secrets:
        assert secret not in logs


# ----- E-mail headers -------------------------------------------------------------------


HEADER_INJECTIONS = [
    "ops@example.com\r\nBcc: everyone@example.com",
    "ops@example.com\nBcc: everyone@example.com",
    "ops@example.com\rX-Injected: 1",
    "ops@example.com\r\n\r\nbody",
    "Ops <ops@example.com>",
    "ops@example.com, other@example.com",
    "ops@example.com\u2028Bcc: x@example.com",
    "ops@example.com%0d%0aBcc: x@example.com",
]


def test_email_forward_addresses_cannot_carry_header_lines(api, aws_session, stack):
    before = (table_items(aws_session, stack), queue_depth(aws_session, stack))
    for field in ("ForwardToEmail", "ForwardFromEmail"):
        for value in HEADER_INJECTIONS:
            # A leased send (From blank) with the forward address
            response = api.send({"To": BODY["To"], "Text": "hi", field: value})
            assert response.status == 400, (value, response.body)
            assert response.body["Error"]["Code"] == ErrorCode.FORWARD_EMAIL_INVALID.number
            assert response.body["Error"]["Parameter"] == field
    assert (table_items(aws_session, stack), queue_depth(aws_session, stack)) == before
