"""A leased send on the in-memory fakes (smsgw.logic.send_request_use_case with
smsgw.logic.leases): the lease changes only together with the message it belongs to.
A send whose message is not stored leaves the lease exactly as it was."""

from __future__ import annotations

import pytest

from smsgw.dal.tenant_store import Account, Property
from smsgw.logic.leases import Leasing
from smsgw.logic.send_request_use_case import SendLimits, SendRequests
from smsgw.models.lease import LEASE_SECONDS
from tests.fakes import FakeLeaseStore, FakeMessageStore, FakePool, FakeSendQueue, FakeTenantStore
from tests.fakes.builders import T0

ACCOUNT, PROPERTY = "AC" + "1" * 32, "PR" + "1" * 32
R = "+61488023555"
NUMBER = "+61400000001"


class World:
    def __init__(self) -> None:
        self.tenants = FakeTenantStore()
        self.tenants.put_account(Account(ACCOUNT, "Acme", sms_enabled=True))
        self.tenants.put_property(Property(PROPERTY, ACCOUNT, "Shop", sms_enabled=True))
        self.messages = FakeMessageStore()
        self.queue = FakeSendQueue()
        self.pool = FakePool()
        self.pool.add(NUMBER, ("AU",))
        self.leases = FakeLeaseStore(self.pool, self.messages)
        self.requests = SendRequests(
            tenants=self.tenants,
            messages=self.messages,
            queue=self.queue,
            limits=SendLimits(),
            leasing=Leasing(leases=self.leases, pool=self.pool),
        )

    def send(self, body: dict, now: float):
        return self.requests.accept(
            property_sid=PROPERTY,
            account_sid=ACCOUNT,
            account_sms_enabled=True,
            read_body=lambda: {"To": R, "Text": "Reply YES", **body},
            now=now,
        )

    def lease_items(self):
        return dict(self.leases.leases), dict(self.leases.pointers), dict(self.leases.slots)


@pytest.fixture
def world() -> World:
    return World()


def test_a_renewal_whose_message_is_not_stored_leaves_the_lease_as_it_was(world):
    # Given a lease whose latest message asked for replies at one webhook
    first = world.send({"WebhookUri": "https://a.example/first"}, now=T0)
    first_sid = first.body["Message"]["MessageSid"]
    before = world.lease_items()

    # When the next send from the property fails to store its message
    world.messages.failing = True
    with pytest.raises(RuntimeError):
        world.send({"WebhookUri": "https://a.example/second"}, now=T0 + 3600)

    # Then the lease, its pointer and its slot are unchanged: the stored message is still
    # the latest, its options still route a reply, and the lease still runs from T0
    assert world.lease_items() == before
    lease = world.leases.get(R, NUMBER)
    assert lease.last_message_sid == first_sid
    assert lease.response_options["WebhookUri"] == "https://a.example/first"
    assert lease.expires_at == T0 + LEASE_SECONDS
    assert list(world.messages.items) == [first_sid]
    assert [job.message_sid for job in world.queue.jobs] == [first_sid]


def test_a_first_send_whose_message_is_not_stored_takes_no_lease(world):
    # Given no lease yet, and a message store that fails
    world.messages.failing = True

    # When a leased send is made
    with pytest.raises(RuntimeError):
        world.send({"WebhookUri": "https://a.example/first"}, now=T0)

    # Then no number, pointer or slot was taken: the account's five slots are all free
    assert world.lease_items() == ({}, {}, {})
    assert world.leases.free_slots(ACCOUNT, R, T0) == [1, 2, 3, 4, 5]

    # and once the store is back, the send takes the number as if nothing had happened
    world.messages.failing = False
    sent = world.send({}, now=T0 + 1)
    assert sent.body["Message"]["From"] == NUMBER
    assert world.leases.get(R, NUMBER).last_message_sid == sent.body["Message"]["MessageSid"]


def test_a_stored_leased_send_changes_the_lease_with_its_message(world):
    first = world.send({"WebhookUri": "https://a.example/first"}, now=T0)
    second = world.send({"ForwardToSms": "+61499333222"}, now=T0 + 60)

    lease = world.leases.get(R, NUMBER)
    sid = second.body["Message"]["MessageSid"]
    assert lease.last_message_sid == sid != first.body["Message"]["MessageSid"]
    assert lease.response_options["ForwardToSms"] == "+61499333222"
    assert "WebhookUri" not in lease.response_options
    assert lease.expires_at == T0 + 60 + LEASE_SECONDS
    stored = world.messages.get(sid)
    assert stored.sender == NUMBER
    assert stored.lease["ExpiresAt"] == second.body["Message"]["Lease"]["ExpiresAt"]
