"""Forward targets that would loop (smsgw.logic.forward_targets): a ForwardToSms that is one
of the gateway's own pool numbers is refused before anything is stored, on the API's path
and the raw queue path, because an SMS forwarded to our own number comes back as a reply
and is forwarded again."""

from __future__ import annotations

import json

import pytest

from smsgw.errors import ErrorCode, ValidationError
from smsgw.logic.forward_targets import check_forward_target
from smsgw.logic.leases import Leasing
from smsgw.logic.send_request_use_case import SendLimits, SendRequests
from smsgw.models.message import REJECTED
from smsgw.models.send_request import parse_send_request
from smsgw.models.tenant import Account, Property
from tests.fakes import FakeLeaseStore, FakeMessageStore, FakePool, FakeSendQueue, FakeTenantStore
from tests.fakes.builders import T0

R = "+61488023555"
N1, N2 = "+61400000001", "+61400000002"
OUTSIDE = "+61499333222"
ACCOUNT, PROPERTY = "AC" + "1" * 32, "PR" + "1" * 32


@pytest.fixture
def pool() -> FakePool:
    pool = FakePool()
    pool.add(N1, ("AU",))
    pool.add(N2, ("AU",))
    return pool


def request(**changes):
    body = {"To": R, "Text": "Reply YES", **changes}
    return parse_send_request(body, now=T0)


@pytest.mark.parametrize("target", [N1, N2])
def test_a_forward_to_any_pool_number_is_refused(pool, target):
    with pytest.raises(ValidationError) as raised:
        check_forward_target(request(ForwardToSms=target), pool)

    assert raised.value.code is ErrorCode.FORWARD_SMS_LOOP
    assert raised.value.parameter == "ForwardToSms"


@pytest.mark.parametrize("changes", [{"ForwardToSms": OUTSIDE}, {}, {"From": "+61499009990"}])
def test_a_forward_elsewhere_or_no_forward_is_accepted(pool, changes):
    check_forward_target(request(**changes), pool)


@pytest.fixture
def send_requests(pool):
    tenants = FakeTenantStore()
    tenants.put_account(Account(ACCOUNT, "Shop", True))
    tenants.put_property(Property(PROPERTY, ACCOUNT, "Shop", True))
    return SendRequests(
        tenants=tenants,
        messages=FakeMessageStore(),
        queue=FakeSendQueue(),
        limits=SendLimits(),
        leasing=Leasing(leases=FakeLeaseStore(pool), pool=pool),
    )


def test_the_api_refuses_a_forward_to_a_pool_number_and_stores_nothing(send_requests):
    with pytest.raises(ValidationError) as raised:
        send_requests.accept(
            property_sid=PROPERTY,
            account_sid=ACCOUNT,
            account_sms_enabled=True,
            read_body=lambda: {"To": R, "Text": "Reply YES", "ForwardToSms": N2},
            now=T0,
        )

    assert raised.value.code is ErrorCode.FORWARD_SMS_LOOP
    assert send_requests.messages.items == {}
    assert send_requests.queue.message_sids() == []
    assert send_requests.leasing.leases.leases == {}


def test_a_raw_request_forwarding_to_a_pool_number_is_stored_rejected(send_requests):
    body = {"PropertySid": PROPERTY, "To": R, "Text": "Reply YES", "ForwardToSms": N1}

    message = send_requests.accept_raw(json.dumps(body), "queue-message-1", T0)

    assert message.status == REJECTED
    assert message.error_code == ErrorCode.FORWARD_SMS_LOOP.number
    assert send_requests.leasing.leases.leases == {}
