"""What leasing and reply routing rely on from LeaseStore and PoolStore: allocation all
or nothing, unique per (recipient, number), per property and per account slot; renewal
only of the same live lease; a send's message written with the lease's change or neither;
opt-outs per account; the pool's numbers per country."""

from __future__ import annotations

import pytest

from smsgw.kernel.scheduling import bucket_of, shard_of
from smsgw.models.lease import Allocation, MessageExists
from tests.fakes.builders import T0, a_lease, a_message

R = "+61488023555"
N1, N2, N3 = "+61400000001", "+61400000002", "+61400000003"
US = "+12015550123"


@pytest.fixture
def pool(stores):
    for number in (N3, N1, N2):
        stores.pool.add(number, ("AU",), "2026-01-01T00:00:00.000Z")
    stores.pool.add(US, ("US", "CA"), "2026-01-01T00:00:00.000Z")
    return stores.pool


def test_an_allocated_lease_is_read_back_by_its_lease_pointer_and_slot(stores, pool):
    lease = a_lease(number=N1, slot=2, response_options={"ForwardToSms": "+61400999999"})

    assert stores.leases.allocate(lease, "AU", T0) == Allocation.ALLOCATED

    assert stores.leases.get(R, N1) == lease
    pointer = stores.leases.pointer("PR1", R)
    assert (pointer.lease_id, pointer.number, pointer.expires_at, pointer.slot) == (
        lease.lease_id,
        N1,
        lease.expires_at,
        2,
    )
    assert stores.leases.free_slots("AC1", R, T0) == [1, 3, 4, 5]
    assert stores.leases.live_numbers(R, [N1, N2], T0) == {N1}
    assert stores.leases.get(R, N2) is None and stores.leases.pointer("PR2", R) is None


def test_a_number_is_in_one_live_lease_per_recipient_across_accounts(stores, pool):
    stores.leases.allocate(a_lease(number=N1), "AU", T0)

    other_account = a_lease(number=N1, account_sid="AC2", property_sid="PR2")
    assert stores.leases.allocate(other_account, "AU", T0) == Allocation.NUMBER_TAKEN
    other_recipient = a_lease(recipient="+61488000000", number=N1, account_sid="AC2")
    assert stores.leases.allocate(other_recipient, "AU", T0) == Allocation.ALLOCATED


def test_a_property_holds_one_live_lease_to_a_recipient(stores, pool):
    stores.leases.allocate(a_lease(number=N1, slot=1), "AU", T0)

    assert stores.leases.allocate(a_lease(number=N2, slot=2), "AU", T0) == Allocation.POINTER_TAKEN
    assert stores.leases.get(R, N2) is None
    assert stores.leases.free_slots("AC1", R, T0) == [2, 3, 4, 5]


def test_an_account_slot_holds_one_live_lease(stores, pool):
    stores.leases.allocate(a_lease(number=N1, slot=1), "AU", T0)

    outcome = stores.leases.allocate(a_lease(number=N2, slot=1, property_sid="PR2"), "AU", T0)

    assert outcome == Allocation.SLOT_TAKEN
    assert stores.leases.get(R, N2) is None and stores.leases.pointer("PR2", R) is None


def test_the_first_failed_condition_names_the_outcome(stores, pool):
    stores.leases.allocate(a_lease(number=N1, slot=1), "AU", T0)

    # the same number, property and slot: the lease's condition comes first
    assert stores.leases.allocate(a_lease(number=N1, slot=1), "AU", T0) == Allocation.NUMBER_TAKEN


def test_a_number_not_in_the_pool_for_the_country_is_gone(stores, pool):
    assert stores.leases.allocate(a_lease(number=US), "AU", T0) == Allocation.NUMBER_GONE
    assert (
        stores.leases.allocate(a_lease(number="+61400000099"), "AU", T0) == Allocation.NUMBER_GONE
    )
    assert stores.leases.get(R, US) is None and stores.leases.pointer("PR1", R) is None


def test_expired_items_are_free_at_their_expiry(stores, pool):
    stores.leases.allocate(a_lease(number=N1, slot=1, expires_at=T0 + 100), "AU", T0)

    assert (
        stores.leases.allocate(a_lease(number=N2, slot=1), "AU", T0 + 99)
        == Allocation.POINTER_TAKEN
    )
    assert stores.leases.free_slots("AC1", R, T0 + 100) == [1, 2, 3, 4, 5]
    assert stores.leases.live_numbers(R, [N1], T0 + 100) == set()
    taker = a_lease(number=N1, slot=1, account_sid="AC2", property_sid="PR2")
    assert stores.leases.allocate(taker, "AU", T0 + 100) == Allocation.ALLOCATED
    assert (
        stores.leases.allocate(a_lease(number=N2, slot=1), "AU", T0 + 100) == Allocation.ALLOCATED
    )
    assert stores.leases.get(R, N1).account_sid == "AC2"


def test_renew_extends_the_same_live_lease_and_makes_the_message_its_latest(stores, pool):
    lease = a_lease(number=N1, slot=3, response_options={"ForwardToSms": "+61400999999"})
    stores.leases.allocate(lease, "AU", T0)
    pointer = stores.leases.pointer("PR1", R)

    renewed = stores.leases.renew(
        pointer, "PR1", R, "AC1", T0 + 5000, "SM2", {"WebhookUri": "https://a.example/r"}, T0 + 1
    )

    assert (renewed.lease_id, renewed.number, renewed.slot) == (lease.lease_id, N1, 3)
    assert (renewed.expires_at, renewed.last_message_sid) == (T0 + 5000, "SM2")
    stored = stores.leases.get(R, N1)
    assert (stored.expires_at, stored.last_message_sid) == (T0 + 5000, "SM2")
    assert stored.response_options == {"WebhookUri": "https://a.example/r"}
    assert stores.leases.pointer("PR1", R).expires_at == T0 + 5000
    assert stores.leases.free_slots("AC1", R, T0 + 4999) == [1, 2, 4, 5]

    again = stores.leases.renew(pointer, "PR1", R, "AC1", T0 + 6000, "SM3", None, T0 + 2)
    assert again is not None and stores.leases.get(R, N1).response_options is None


def test_an_expired_or_taken_over_lease_is_not_renewed(stores, pool):
    stores.leases.allocate(a_lease(number=N1, expires_at=T0 + 100), "AU", T0)
    pointer = stores.leases.pointer("PR1", R)

    assert stores.leases.renew(pointer, "PR1", R, "AC1", T0 + 900, "SM2", None, T0 + 100) is None
    assert stores.leases.renew(pointer, "PR2", R, "AC1", T0 + 900, "SM2", None, T0 + 1) is None

    stores.leases.allocate(
        a_lease(number=N1, account_sid="AC2", property_sid="PR2"), "AU", T0 + 100
    )
    assert stores.leases.renew(pointer, "PR1", R, "AC1", T0 + 900, "SM2", None, T0 + 101) is None
    assert stores.leases.get(R, N1).account_sid == "AC2"


def test_an_allocation_with_its_message_stores_both_or_neither(stores, pool):
    message = a_message(to=R, sender=N1)

    assert stores.leases.allocate(a_lease(number=N1), "AU", T0, message) == Allocation.ALLOCATED
    assert stores.messages.get(message.message_sid, consistent=True) == message

    refused = a_message(to=R, sender=N1)
    taken = a_lease(number=N1, account_sid="AC2", property_sid="PR2")
    assert stores.leases.allocate(taken, "AU", T0, refused) == Allocation.NUMBER_TAKEN
    assert stores.messages.get(refused.message_sid, consistent=True) is None


def test_a_scheduled_message_allocated_with_its_lease_waits_in_the_table(stores, pool):
    message = a_message(to=R, sender=N1, status="scheduled", deliver_at=T0 + 86_400)

    stores.leases.allocate(a_lease(number=N1), "AU", T0, message, wait_in_table=True)

    bucket, shard = bucket_of(T0 + 86_400), shard_of(message.message_sid)
    assert (message.message_sid, T0 + 86_400) in list(stores.schedule.waiting(bucket, shard))


def test_a_message_stored_already_changes_no_lease_whatever_else_fails(stores, pool):
    stored = a_message(to=R, sender=N1)
    stores.messages.create(stored)

    with pytest.raises(MessageExists):
        stores.leases.allocate(a_lease(number=N1), "AU", T0, stored)
    assert stores.leases.get(R, N1) is None and stores.leases.pointer("PR1", R) is None
    assert stores.leases.free_slots("AC1", R, T0) == [1, 2, 3, 4, 5]

    stores.leases.allocate(a_lease(number=N1, account_sid="AC2", property_sid="PR2"), "AU", T0)
    with pytest.raises(MessageExists):  # the number is taken too: the message still wins
        stores.leases.allocate(a_lease(number=N1), "AU", T0, stored)


def test_a_renewal_with_its_message_stores_both_or_neither(stores, pool):
    lease = a_lease(number=N1, response_options={"ForwardToSms": "+61400999999"})
    stores.leases.allocate(lease, "AU", T0)
    pointer = stores.leases.pointer("PR1", R)
    before = stores.leases.get(R, N1)

    stored = a_message(to=R, sender=N1)
    stores.messages.create(stored)
    with pytest.raises(MessageExists):
        stores.leases.renew(
            pointer, "PR1", R, "AC1", T0 + 900, stored.message_sid, None, T0, stored
        )
    assert stores.leases.get(R, N1) == before
    assert stores.leases.pointer("PR1", R) == pointer

    expired = a_message(to=R, sender=N1)
    late = T0 + 1000
    assert (
        stores.leases.renew(pointer, "PR1", R, "AC1", late + 9, "SMx", None, late, expired) is None
    )
    assert stores.messages.get(expired.message_sid, consistent=True) is None

    message = a_message(to=R, sender=N1)
    renewed = stores.leases.renew(
        pointer, "PR1", R, "AC1", T0 + 900, message.message_sid, None, T0 + 1, message
    )
    assert renewed is not None and renewed.last_message_sid == message.message_sid
    assert stores.leases.get(R, N1).last_message_sid == message.message_sid
    assert stores.messages.get(message.message_sid, consistent=True) == message


def test_an_opt_out_holds_for_its_account_until_an_opt_in(stores):
    assert stores.leases.is_opted_out("AC1", R) is False

    stores.leases.opt_out("AC1", R, "2027-01-15T08:00:00.000Z", "RE1")
    stores.leases.opt_out("AC1", R, "2027-01-15T08:00:01.000Z", "RE2")

    assert stores.leases.is_opted_out("AC1", R) is True
    assert stores.leases.is_opted_out("AC2", R) is False
    stores.leases.opt_in("AC1", R)
    stores.leases.opt_in("AC1", R)
    assert stores.leases.is_opted_out("AC1", R) is False


def test_the_pool_lists_a_countrys_numbers_in_order_a_page_at_a_time(stores, pool):
    assert [n for page in stores.pool.numbers_for("AU") for n in page] == [N1, N2, N3]
    assert list(stores.pool.numbers_for("AU", page_size=2)) == [[N1, N2], [N3]]
    assert list(stores.pool.numbers_for("CA")) == [[US]]
    assert list(stores.pool.numbers_for("NZ")) == []


def test_the_pool_knows_its_own_numbers_whatever_their_countries(stores, pool):
    assert stores.pool.contains(N1) and stores.pool.contains(US)
    assert not stores.pool.contains("+61499333222")
    stores.pool.remove(N2)
    assert not stores.pool.contains(N2)
