"""Standard Webhooks signing, and the verification code docs/webhooks.md gives customers."""

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from smsgw.kernel import webhook_signing
from smsgw.logic.webhook_delivery import build_request
from smsgw.models.callback import CallbackJob

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
PAYLOAD = {
    "MessageSid": "SM" + "1" * 32,
    "AccountSid": "AC" + "2" * 32,
    "PropertySid": "PR" + "3" * 32,
    "ExternalId": "order-7",
    "From": "+61499009990",
    "To": "+61488023555",
    "Status": "delivered",
    "ErrorCode": None,
    "ErrorMessage": None,
    "Timestamp": "2026-11-27T02:10:21.101Z",
    "IsFinal": True,
}


def documented_verifier():
    """The `verify_webhook` function exactly as docs/webhooks.md prints it."""
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_webhook"]


def job(method="POST", uri="https://hooks.example.com/receipts"):
    return CallbackJob("msg_abc", uri, method, dict(PAYLOAD))


def test_documented_example_verifies_a_post_the_notifier_signed():
    secret = webhook_signing.new_secret()
    request = build_request(job(), [secret], time.time())

    verify = documented_verifier()

    assert verify(secret, request.headers, request.body)
    assert json.loads(request.body) == PAYLOAD
    assert not verify(secret, request.headers, request.body.replace("delivered", "failed"))
    assert not verify(webhook_signing.new_secret(), request.headers, request.body)


def test_documented_example_verifies_a_get_over_its_query_string():
    secret = webhook_signing.new_secret()
    request = build_request(job("GET", "https://hooks.example.com/r?shop=7"), [secret], time.time())
    query = urlsplit(request.url).query

    verify = documented_verifier()

    assert request.body == ""
    assert verify(secret, request.headers, query)
    fields = dict(parse_qsl(query, keep_blank_values=True))
    assert (fields["shop"], fields["Status"], fields["IsFinal"], fields["ErrorCode"]) == (
        "7",
        "delivered",
        "true",
        "",
    )
    assert not verify(secret, request.headers, query.replace("delivered", "failed"))


def test_during_a_rotation_both_secrets_sign():
    old, new = webhook_signing.new_secret(), webhook_signing.new_secret()
    request = build_request(job(), [old, new], time.time())

    signatures = request.headers["webhook-signature"].split(" ")

    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (old, new):
        assert documented_verifier()(secret, request.headers, request.body)


def test_stale_timestamp_is_rejected():
    secret = webhook_signing.new_secret()
    request = build_request(job(), [secret], time.time() - 3600)

    assert not webhook_signing.verify(secret, request.headers, request.body, now=time.time())
    assert webhook_signing.verify(secret, request.headers, request.body, now=time.time() - 3600)


def test_secret_has_the_standard_format():
    secret = webhook_signing.new_secret()

    assert secret.startswith("whsec_")
    assert len(webhook_signing._key(secret)) == 32


def test_signature_matches_the_standard_webhooks_reference_vector():
    # The example from the Standard Webhooks specification's reference implementations.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'

    signature = webhook_signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
