"""Leased sender IDs under moto: allocation, reuse, limits, expiry, exhaustion, races."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from smsgw.dal.lease_store import LeaseStore
from smsgw.dal.pool import PoolStore
from smsgw.errors import ErrorCode, ValidationError
from smsgw.logic.leases import Leasing
from smsgw.models.lease import LEASE_SECONDS

T0 = 1_800_000_000
RECIPIENT = "+61488023555"
AU_POOL = ["+61400000001", "+61400000002", "+61400000003", "+61400000004", "+61400000005"]


@pytest.fixture
def pool(table):
    store = PoolStore(table)
    for number in AU_POOL:
        store.add(number, ("AU",), "2026-01-01T00:00:00.000Z")
    store.add("+12015550123", ("US", "CA"), "2026-01-01T00:00:00.000Z")
    return store


@pytest.fixture
def leasing(table, pool):
    return Leasing(leases=LeaseStore(table), pool=pool)


def acquire(leasing, account="AC1", prop="PR1", to=RECIPIENT, now=T0, options=None):
    return leasing.acquire(account, prop, to, f"SM-{prop}-{now}", options, now)


def test_blank_from_is_sent_from_a_leased_number_shown_on_the_message(api, admin):
    # Given a pool number for Australia
    admin.add_pool_number("+61400000009", ["AU"])

    # When an SMS is sent with a blank From
    response = api.send({"From": "", "To": RECIPIENT, "Text": "Reply YES to confirm"})

    # Then it goes out from the leased number, and the message shows its lease
    message = response.body["Message"]
    assert response.status == 200, response.body
    assert message["From"] == "+61400000009"
    assert message["Lease"]["Number"] == "+61400000009"
    fetched = api.call(
        "GET", f"/v1/Properties/{message['PropertySid']}/Sms/{message['MessageSid']}"
    )
    assert fetched.body["Message"]["Lease"] == message["Lease"]


@pytest.mark.parametrize("to", ["+14155552671", "+16135550123"])
def test_us_and_canadian_recipients_with_an_alphanumeric_from_get_a_leased_number(api, admin, to):
    # Given a pool number for the US and Canada
    admin.add_pool_number("+12025550143", ["US", "CA"])

    # When an alphanumeric From meets a North American recipient
    response = api.send({"From": "MyShop", "To": to, "Text": "Your order shipped"})

    # Then the message is sent from the leased number instead
    assert response.status == 200, response.body
    assert response.body["Message"]["From"] == "+12025550143"


def test_a_property_resending_reuses_and_renews_its_lease(leasing):
    first = acquire(leasing, now=T0)

    second = acquire(leasing, now=T0 + 86_400, options={"WebhookUri": "https://a.example/r"})

    assert second.number == first.number and second.lease_id == first.lease_id
    assert second.expires_at == T0 + 86_400 + LEASE_SECONDS
    stored = LeaseStore(leasing.leases._table).get(RECIPIENT, first.number)
    assert stored.last_message_sid == f"SM-PR1-{T0 + 86_400}"
    assert stored.response_options == {"WebhookUri": "https://a.example/r"}


def test_a_lease_expires_thirty_days_after_its_last_send_to_the_second(leasing):
    # Given PR1's lease from T0, and the pool's other numbers taken by other accounts
    first = acquire(leasing, now=T0)
    for index, _ in enumerate(AU_POOL[1:]):
        acquire(leasing, account=f"AC-other-{index}", prop=f"PR-other-{index}", now=T0)

    # Then one second before 30 days it is still PR1's, so PR2 (another account) finds the
    # pool exhausted for this recipient ...
    with pytest.raises(ValidationError) as refused:
        acquire(leasing, account="AC2", prop="PR2", now=T0 + LEASE_SECONDS - 1)
    assert refused.value.code is ErrorCode.NO_LEASED_NUMBER_AVAILABLE

    # ... and at 30 days exactly it is expired, and PR2 takes the same number
    taken = acquire(leasing, account="AC2", prop="PR2", now=T0 + LEASE_SECONDS)
    assert taken.number == first.number and taken.lease_id != first.lease_id

    # and PR1, re-sending then, gets a new lease (the others' leases have expired too)
    again = acquire(leasing, now=T0 + LEASE_SECONDS + 1)
    assert again.lease_id != first.lease_id and again.number != first.number


def test_the_fifth_lease_to_a_recipient_is_granted_and_the_sixth_is_rejected(leasing):
    # Given five properties of one account, each leasing to the same recipient
    numbers = {acquire(leasing, prop=f"PR{index}").number for index in range(1, 6)}
    assert len(numbers) == 5

    # When a sixth property of the account sends to them
    with pytest.raises(ValidationError) as refused:
        acquire(leasing, prop="PR6")

    # Then it is a 400 with its own code; other recipients are unaffected
    assert refused.value.code is ErrorCode.LEASE_LIMIT_REACHED
    assert refused.value.code.http_status == 400
    assert acquire(leasing, prop="PR6", to="+61488023556").number in AU_POOL


def test_an_expired_lease_frees_its_slot_for_the_account(leasing):
    for index in range(1, 6):
        acquire(leasing, prop=f"PR{index}", now=T0 + index)

    # The first lease has expired by then: its slot (and number) is free again
    lease = acquire(leasing, prop="PR6", now=T0 + 1 + LEASE_SECONDS)

    assert lease.number in AU_POOL


def test_two_accounts_leasing_to_the_same_recipient_never_share_a_number(leasing):
    ours = acquire(leasing, account="AC1", prop="PR1")
    theirs = acquire(leasing, account="AC2", prop="PR2")
    elsewhere = acquire(leasing, account="AC2", prop="PR2", to="+61488023556")

    assert ours.number != theirs.number
    # The same number may serve another recipient
    assert elsewhere.number == ours.number


def test_an_exhausted_pool_is_a_clear_error(api, admin):
    # Given no pool number for Australia at all
    admin.add_pool_number("+12015550123", ["US"])

    response = api.send({"To": RECIPIENT, "Text": "hello"})

    assert response.status == 400
    assert response.body["Error"]["Code"] == ErrorCode.NO_LEASED_NUMBER_AVAILABLE.number
    assert "AU" in response.body["Error"]["Message"]


def test_a_removed_number_is_not_leased_again(leasing, pool):
    for number in AU_POOL[:-1]:
        pool.remove(number)

    assert acquire(leasing).number == AU_POOL[-1]
    pool.remove(AU_POOL[-1])
    with pytest.raises(ValidationError):
        acquire(leasing, prop="PR2")


def test_a_scheduled_leased_send_holds_its_lease_from_the_request(api, admin, functions):
    import time

    admin.add_pool_number("+61400000007", ["AU"])
    schedule = int(time.time()) + 7 * 86_400

    response = api.send({"To": RECIPIENT, "Text": "Next week", "Schedule": schedule})

    message = response.body["Message"]
    assert (message["Status"], message["From"]) == ("scheduled", "+61400000007")
    expires = message["Lease"]["ExpiresAt"]
    assert expires[:10] == time.strftime("%Y-%m-%d", time.gmtime(int(time.time()) + LEASE_SECONDS))


def test_parallel_lease_requests_never_share_a_number_nor_exceed_five_per_account(
    leasing, table, monkeypatch
):
    # Given many parallel requests for one recipient: two accounts, eight properties each,
    # each property sending three times, and five more pool numbers than one account may use
    store = PoolStore(table)
    for index in range(6, 12):
        store.add(f"+614000000{index:02d}", ("AU",), "2026-01-01T00:00:00.000Z")
    requests = [(f"AC{a}", f"PR{a}-{p}") for a in (1, 2) for p in range(8)] * 3

    def attempt(request):
        account, prop = request
        try:
            return acquire(leasing, account=account, prop=prop)
        except ValidationError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=16) as workers:
        results = list(workers.map(attempt, requests))

    # Then no number is leased twice, no account holds more than five leases, every
    # property's sends share one lease, and the refusals are the per-account limit
    leases = [r for r in results if not isinstance(r, ErrorCode)]
    by_id = {lease.lease_id: lease for lease in leases}
    numbers = [lease.number for lease in by_id.values()]
    assert len(numbers) == len(set(numbers))
    for account in ("AC1", "AC2"):
        assert len([x for x in by_id.values() if x.account_sid == account]) == 5
    by_property = {}
    for lease in leases:
        by_property.setdefault(lease.property_sid, set()).add(lease.lease_id)
    assert all(len(ids) == 1 for ids in by_property.values())
    assert {r for r in results if isinstance(r, ErrorCode)} == {ErrorCode.LEASE_LIMIT_REACHED}
    live = table.scan()["Items"]  # a test may scan; the product never does
    assert len([i for i in live if i["PK"].startswith("LEASE#")]) == 10
