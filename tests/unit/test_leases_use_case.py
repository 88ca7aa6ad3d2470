"""Lease acquisition (smsgw.logic.leases) on the in-memory fakes: reuse and renewal, the
per-account limit, uniqueness of a number per recipient, exhaustion, expiry, opt-outs and
the races the conditional writes settle."""

from __future__ import annotations

import pytest

from smsgw.errors import ErrorCode, ValidationError
from smsgw.logic.leases import Leasing
from smsgw.models.lease import LEASE_SECONDS, Allocation
from smsgw.models.send_request import parse_send_request
from tests.fakes import FakeLeaseStore, FakePool
from tests.fakes.builders import T0, a_lease

R = "+61488023555"
AU = ["+61400000001", "+61400000002", "+61400000003", "+61400000004", "+61400000005"]
US = "+12015550123"


@pytest.fixture
def pool() -> FakePool:
    pool = FakePool()
    for number in [*AU, "+61400000006"]:
        pool.add(number, ("AU",))
    pool.add(US, ("US", "CA"))
    return pool


@pytest.fixture
def store(pool) -> FakeLeaseStore:
    return FakeLeaseStore(pool)


@pytest.fixture
def leasing(store, pool) -> Leasing:
    return Leasing(leases=store, pool=pool)


def acquire(leasing, account="AC1", prop="PR1", to=R, now=T0, options=None):
    return leasing.acquire(account, prop, to, f"SM-{prop}-{now}", options, now)


def refusal(call) -> ErrorCode:
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.code


def test_a_first_send_takes_a_pool_number_for_the_recipients_country(leasing):
    lease = acquire(leasing, options={"ForwardToSms": "+61400999999"})

    assert lease.number == AU[0]
    assert (lease.account_sid, lease.property_sid, lease.recipient) == ("AC1", "PR1", R)
    assert lease.expires_at == T0 + LEASE_SECONDS
    assert lease.response_options == {"ForwardToSms": "+61400999999"}
    assert acquire(leasing, to="+14155552671").number == US


def test_a_property_sending_again_reuses_and_renews_its_lease(leasing, store):
    first = acquire(leasing, options={"ForwardToSms": "+61400999999"})

    later = T0 + 10 * 86_400
    second = acquire(leasing, now=later, options={"WebhookUri": "https://a.example/r"})

    assert (second.lease_id, second.number) == (first.lease_id, first.number)
    assert second.expires_at == later + LEASE_SECONDS
    stored = store.get(R, first.number)
    assert stored.last_message_sid == f"SM-PR1-{later}"
    assert stored.response_options == {"WebhookUri": "https://a.example/r"}
    assert store.free_slots("AC1", R, later) == [2, 3, 4, 5]


def test_a_number_is_leased_to_a_recipient_once_across_accounts_and_properties(leasing):
    leases = [
        acquire(leasing, account=a, prop=f"PR-{a}-{p}") for a in ("AC1", "AC2") for p in (1, 2)
    ]

    assert len({lease.number for lease in leases}) == 4
    other_recipient = acquire(leasing, account="AC3", to="+61488000000")
    assert other_recipient.number == AU[0]


def test_an_account_holds_at_most_five_live_leases_to_a_recipient(leasing):
    for p in range(5):
        acquire(leasing, prop=f"PR{p}")

    assert refusal(lambda: acquire(leasing, prop="PR5")) == ErrorCode.LEASE_LIMIT_REACHED
    assert acquire(leasing, account="AC2", prop="PR-other").number == "+61400000006"
    assert acquire(leasing, prop="PR0").number == AU[0]  # its own lease, renewed


def test_an_exhausted_pool_is_no_number_available(leasing):
    for a in range(6):
        acquire(leasing, account=f"AC{a}", prop=f"PR{a}")

    assert refusal(lambda: acquire(leasing, account="AC9", prop="PR9")) == (
        ErrorCode.NO_LEASED_NUMBER_AVAILABLE
    )
    assert refusal(lambda: acquire(leasing, to="+6421555123")) == (
        ErrorCode.NO_LEASED_NUMBER_AVAILABLE
    )


def test_an_expired_lease_frees_its_number_slot_and_pointer(leasing):
    first = acquire(leasing)
    expired = T0 + LEASE_SECONDS

    taken_over = acquire(leasing, account="AC2", prop="PR2", now=expired)
    fresh = acquire(leasing, now=expired)

    assert taken_over.number == first.number
    assert fresh.lease_id != first.lease_id and fresh.number != first.number
    assert fresh.slot == 1


def test_a_number_that_left_the_pool_meanwhile_is_skipped(leasing, store, pool):
    class Removing(FakeLeaseStore):
        def allocate(self, lease, country, now, *message, **options):
            if lease.number == AU[0] and pool.has(AU[0], country):
                pool.remove(AU[0])  # an operator removes it between the read and the write
            return super().allocate(lease, country, now, *message, **options)

    racing = Leasing(leases=Removing(pool), pool=pool)

    assert acquire(racing).number == AU[1]


def test_a_lease_the_property_got_concurrently_is_reused(pool):
    class Concurrent(FakeLeaseStore):
        competitor = None

        def allocate(self, lease, country, now, *message, **options):
            if self.competitor is None:  # another send of the same property wins the race
                self.competitor = a_lease(
                    number=AU[3], slot=2, expires_at=now + LEASE_SECONDS, last_message_sid="SMx"
                )
                assert super().allocate(self.competitor, country, now) != Allocation.POINTER_TAKEN
            return super().allocate(lease, country, now, *message, **options)

    store = Concurrent(pool)
    lease = acquire(Leasing(leases=store, pool=pool))

    assert (lease.lease_id, lease.number) == (store.competitor.lease_id, AU[3])
    assert store.free_slots("AC1", R, T0) == [1, 3, 4, 5]


def send_request(sender: str):
    return parse_send_request({"From": sender, "To": R, "Text": "Hi"}, now=T0)


def test_prepare_leases_for_a_blank_from_only(leasing):
    assert leasing.prepare(send_request(""), "AC1", "PR1", "SM1", T0).number == AU[0]
    assert leasing.prepare(send_request("+61499009990"), "AC1", "PR2", "SM2", T0) is None
    assert leasing.prepare(send_request("MyShop"), "AC1", "PR3", "SM3", T0) is None


def test_an_alphanumeric_from_to_a_country_without_them_gets_a_lease(leasing):
    request = parse_send_request({"From": "MyShop", "To": "+14155552671", "Text": "Hi"}, now=T0)

    assert leasing.prepare(request, "AC1", "PR1", "SM1", T0).number == US


def test_an_opted_out_recipient_is_refused_for_every_sender_until_opted_in(leasing, store):
    store.opt_out("AC1", R, "2027-01-15T08:00:00.000Z", "RE1")

    for sender in ("", "+61499009990", "MyShop"):
        assert refusal(
            lambda sender=sender: leasing.prepare(send_request(sender), "AC1", "PR1", "SM", T0)
        ) == (ErrorCode.RECIPIENT_OPTED_OUT)
    assert leasing.prepare(send_request(""), "AC2", "PR2", "SM", T0) is not None

    store.opt_in("AC1", R)
    assert leasing.prepare(send_request(""), "AC1", "PR1", "SM", T0) is not None
