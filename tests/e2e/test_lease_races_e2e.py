"""Parallel leased sends over the local stack: every accepted message is stored once and
the lease rules hold (docs/leases.md), which needs a moto as atomic as DynamoDB
(smsgw_tools.local.atomic_moto)."""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support import stack_admin

pytestmark = pytest.mark.e2e

# A country of its own, so these leases take no number another test leases.
POOL = [f"+4474001001{n:02d}" for n in range(8)]
LEASE_LIMIT_REACHED = 22002


@pytest.fixture(scope="module")
def gb_pool(local_stack):
    admin = stack_admin(local_stack)
    for number in POOL:
        admin.add_pool_number(number, ["GB"])
    return admin


def _recipient() -> str:
    return f"+4474002{random.randrange(10_000, 100_000):05d}"


def _send_all(local_stack, to, sends):
    """POST each (property, credentials, text) as a leased send to `to`, all at once."""

    def send(request):
        prop, auth, text = request
        url = f"{local_stack['ApiUrl']}/Properties/{prop}/Sms"
        return requests.post(url, json={"From": "", "To": to, "Text": text}, auth=auth, timeout=60)

    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        return list(pool.map(send, sends))


def _stored(local_stack, prop, auth, sid):
    url = f"{local_stack['ApiUrl']}/Properties/{prop}/Sms/{sid}"
    return requests.get(url, auth=auth, timeout=30)


def test_parallel_leased_sends_of_one_property_are_all_stored_on_one_number(local_stack, gb_pool):
    # Given a property of its own
    account = gb_pool.create_account("Lease race e2e")
    prop = gb_pool.create_property(account["AccountSid"], "One property")["PropertySid"]
    auth = (account["AccountSid"], account["AuthToken"])
    to = _recipient()

    # When it sends 20 leased messages to one recipient at once
    answers = _send_all(local_stack, to, [(prop, auth, f"Race {n}") for n in range(20)])

    # Then each is accepted, stored once under its own MessageSid, from one leased number
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    messages = [a.json()["Message"] for a in answers]
    sids = [m["MessageSid"] for m in messages]
    assert len(set(sids)) == 20
    assert len({m["From"] for m in messages}) == 1 and messages[0]["From"] in POOL
    stored = [_stored(local_stack, prop, auth, sid) for sid in sids]
    assert [s.status_code for s in stored] == [200] * 20
    assert sorted(s.json()["Message"]["Text"] for s in stored) == sorted(
        f"Race {n}" for n in range(20)
    )


def test_parallel_leased_sends_of_seven_properties_hold_the_lease_rules(local_stack, gb_pool):
    # Given seven properties of one account, and more pool numbers than it may lease
    account = gb_pool.create_account("Lease limit e2e")
    auth = (account["AccountSid"], account["AuthToken"])
    props = [
        gb_pool.create_property(account["AccountSid"], f"Shop {n}")["PropertySid"] for n in range(7)
    ]
    to = _recipient()

    # When each sends three leased messages to one recipient, all at once
    sends = [(prop, auth, f"{prop} {n}") for n in range(3) for prop in props]
    answers = _send_all(local_stack, to, sends)

    # Then nothing fails with a server error; every refusal is the account's lease limit
    assert all(a.status_code in (200, 400) for a in answers), [a.text for a in answers]
    refused = [a.json()["Error"]["Code"] for a in answers if a.status_code == 400]
    assert set(refused) <= {LEASE_LIMIT_REACHED}
    # and each accepted message is stored, from its property's one number
    numbers: dict[str, set[str]] = {}
    for (prop, _, text), answer in zip(sends, answers, strict=True):
        if answer.status_code != 200:
            continue
        message = answer.json()["Message"]
        stored = _stored(local_stack, prop, auth, message["MessageSid"])
        assert stored.status_code == 200, stored.text
        assert stored.json()["Message"]["Text"] == text
        numbers.setdefault(prop, set()).add(message["From"])
    assert all(len(used) == 1 for used in numbers.values()), numbers
    # no number serves two properties, and the account holds five leases to the recipient
    leased = [next(iter(used)) for used in numbers.values()]
    assert len(leased) == len(set(leased)) == 5
    assert set(leased) <= set(POOL)
