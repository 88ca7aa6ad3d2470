"""A property's SmartEncoding default (set by `smsgw property set-smart-encoding`) in the
send use case on the in-memory fakes: a request that does not say takes it, on the API
and on the raw SQS path alike; a request's own `true` or `false` wins."""

from __future__ import annotations

import json

import pytest

from smsgw.dal.tenant_store import Account, Property
from smsgw.errors import ErrorCode
from smsgw.logic.send_request_use_case import SendLimits, SendRequests
from smsgw.models.message import REJECTED
from tests.fakes import FakeMessageStore, FakeSendQueue, FakeTenantStore
from tests.fakes.builders import T0

ACCOUNT, PROPERTY = "AC" + "1" * 32, "PR" + "1" * 32
CURLY = (
    "Hi Sam, your order\u2019s ready \u2014 \u201cpick up\u201d at desk 4 before 6pm "
    "today\u2026 Reply HELP for help."
)
AS_SENT = (
    'Hi Sam, your order\'s ready - "pick up" at desk 4 before 6pm today... Reply HELP for help.'
)
BODY = {"From": "+61499009990", "To": "+61488023555", "Text": CURLY}


class World:
    def __init__(self, smart_encoding: bool) -> None:
        self.tenants = FakeTenantStore()
        self.tenants.put_account(Account(ACCOUNT, "Acme", sms_enabled=True))
        self.tenants.put_property(
            Property(PROPERTY, ACCOUNT, "Shop", sms_enabled=True, smart_encoding=smart_encoding)
        )
        self.messages = FakeMessageStore()
        self.requests = SendRequests(
            tenants=self.tenants,
            messages=self.messages,
            queue=FakeSendQueue(),
            limits=SendLimits(),
        )

    def send(self, **changes) -> dict:
        """The API's answer's Message, as the stored message reads back."""
        accepted = self.requests.accept(
            property_sid=PROPERTY,
            account_sid=ACCOUNT,
            account_sms_enabled=True,
            read_body=lambda: {**BODY, **changes},
            now=T0,
        )
        sid = accepted.body["Message"]["MessageSid"]
        assert self.messages.get(sid).to_resource() == accepted.body["Message"]
        return accepted.body["Message"]

    def send_raw(self, message_id: str, **changes):
        body = json.dumps({"PropertySid": PROPERTY, **BODY, **changes})
        return self.requests.accept_raw(body, message_id, T0)


def shown(message: dict) -> tuple[str, str, int]:
    return message["Text"], message["Encoding"], message["Segments"]


@pytest.mark.parametrize("absent", [{}, {"SmartEncoding": None}])
def test_a_send_that_does_not_say_takes_the_propertys_smart_encoding(absent):
    # Given a property whose default is on, and one whose default is off (as by default)
    on, off = World(smart_encoding=True), World(smart_encoding=False)

    # When each is sent a text with curly quotes that does not say
    replaced, typed = on.send(**absent), off.send(**absent)

    # Then the first is sent as replaced, GSM-7 in 1 segment; the second as typed, UCS-2 in 2
    assert shown(replaced) == (AS_SENT, "GSM-7", 1)
    assert shown(typed) == (CURLY, "UCS-2", 2)


def test_a_sends_own_smart_encoding_wins_over_the_propertys():
    on, off = World(smart_encoding=True), World(smart_encoding=False)

    assert shown(on.send(SmartEncoding=False)) == (CURLY, "UCS-2", 2)
    assert shown(off.send(SmartEncoding=True)) == (AS_SENT, "GSM-7", 1)


def test_a_raw_request_takes_the_propertys_default_and_its_own_value_wins():
    # Given a property whose default is on
    world = World(smart_encoding=True)

    # When raw requests on SendQueue say nothing, false, or true
    silent = world.send_raw("queue-1")
    plain = world.send_raw("queue-2", SmartEncoding=False)
    smart = world.send_raw("queue-3", SmartEncoding=True)

    # Then only the one that says false is stored as typed, UCS-2 in 2
    assert shown(silent.to_resource()) == (AS_SENT, "GSM-7", 1)
    assert shown(plain.to_resource()) == (CURLY, "UCS-2", 2)
    assert shown(smart.to_resource()) == (AS_SENT, "GSM-7", 1)


def test_the_default_does_not_excuse_a_smart_encoding_that_is_not_a_boolean():
    world = World(smart_encoding=True)

    rejected = world.send_raw("queue-1", SmartEncoding="true")

    assert rejected.status == REJECTED
    assert rejected.error_code == ErrorCode.SMART_ENCODING_INVALID.number
