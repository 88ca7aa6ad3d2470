"""Security over the wire, where the gateway in front matters: the local stack over HTTP."""

import pytest
import requests

from smsgw_tools.template.loading import load
from tests.support import stack_admin

pytestmark = pytest.mark.e2e

BODY = {"From": "+61499009990", "To": "+61488023555", "Text": "Over the wire"}
CUSTOMER_ROUTES = [r for r in load().routes if r.authorizer is not None]


def _url(local_stack, route, property_sid, message_sid):
    path = route.path.removeprefix("/v1")
    path = path.replace("{PropertySid}", property_sid).replace("{MessageSid}", message_sid)
    return local_stack["ApiUrl"] + path


@pytest.fixture(scope="module")
def rival(local_stack):
    admin = stack_admin(local_stack)
    account = admin.create_account("Rival e2e")
    prop = admin.create_property(account["AccountSid"], "Rival e2e shop")
    return account["AccountSid"], account["AuthToken"], prop["PropertySid"]


@pytest.fixture(scope="module")
def message_sid(local_stack):
    response = requests.post(
        f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms",
        json=BODY,
        auth=(local_stack["AccountSid"], local_stack["AuthToken"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["Message"]["MessageSid"]


@pytest.mark.parametrize("route", CUSTOMER_ROUTES, ids=lambda r: r.route_key)
def test_no_customer_route_answers_over_http_without_valid_credentials(
    route, local_stack, rival, message_sid
):
    url = _url(local_stack, route, local_stack["PropertySid"], message_sid)
    kwargs = {"json": BODY} if route.method == "POST" else {}
    # No Authorization header at all: the gateway's own 401, before any function runs
    bare = requests.request(route.method, url, timeout=30, **kwargs)
    assert bare.status_code == 401, bare.text
    # Wrong or garbled credentials: the API's 401 in its error format
    for auth in (
        (local_stack["AccountSid"], "wrong-token"),
        (local_stack["AccountSid"], rival[1]),
        (rival[0], local_stack["AuthToken"]),
    ):
        response = requests.request(route.method, url, auth=auth, timeout=30, **kwargs)
        assert response.status_code == 401, response.text
        assert response.json()["Error"]["Code"] == 20101
    garbled = requests.request(
        route.method, url, headers={"Authorization": "Basic %%%"}, timeout=30, **kwargs
    )
    assert garbled.status_code == 401, garbled.text


@pytest.mark.parametrize("route", CUSTOMER_ROUTES, ids=lambda r: r.route_key)
def test_another_account_cannot_reach_the_message_over_http(route, local_stack, rival, message_sid):
    kwargs = {"json": BODY} if route.method == "POST" else {}
    url = _url(local_stack, route, local_stack["PropertySid"], message_sid)
    response = requests.request(route.method, url, auth=rival[:2], timeout=30, **kwargs)
    assert response.status_code == 404, response.text
    assert response.json()["Error"]["Code"] == 20104
    # The message is untouched (a DELETE by the rival cancelled nothing)
    mine = requests.get(
        f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms/{message_sid}",
        auth=(local_stack["AccountSid"], local_stack["AuthToken"]),
        timeout=30,
    )
    assert mine.status_code == 200 and mine.json()["Message"]["Status"] != "cancelled"


def test_unsigned_and_forged_carrier_callbacks_are_refused_over_http(local_stack, message_sid):
    form = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered", "To": BODY["To"]}
    for kind in ("Receipts", "Responses"):
        url = f"{local_stack['CarrierCallbackUrl']}/twilio/{kind}?smsgw_sid={message_sid}"
        for headers in ({}, {"X-Twilio-Signature": "forged="}):
            response = requests.post(url, data=form, headers=headers, timeout=30)
            assert response.status_code == 403, response.text
            assert response.json()["Error"]["Code"] == 24001


def test_gateway_passes_a_body_that_is_not_utf8_on_and_answers_unknown_methods_itself(
    local_stack,
):
    url = f"{local_stack['ApiUrl']}/Properties/{local_stack['PropertySid']}/Sms"
    auth = (local_stack["AccountSid"], local_stack["AuthToken"])
    # A JSON body that is not UTF-8 reaches the API (base64-encoded, as API Gateway passes
    # it on), which answers its own clear 400
    bad = requests.post(
        url,
        data=b'{"To": "\xff\xfe"}',
        headers={"content-type": "application/json"},
        auth=auth,
        timeout=30,
    )
    assert (bad.status_code, bad.json()["Error"]["Code"]) == (400, 20001), bad.text
    assert bad.json()["Error"]["Message"] == (
        "The request body is not UTF-8 text; send JSON encoded as UTF-8."
    )
    # TRACE, or a method nobody defined: API Gateway's own JSON 404, no function runs
    for method in ("TRACE", "PURGE"):
        answer = requests.request(method, url, auth=auth, timeout=30)
        assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"}), method
