"""In-memory stand-ins for `smsgw.dal.lease_store.LeaseStore` (the `LeaseStoreLike`,
`LeaseLookup` and `OptOuts` ports) and `smsgw.dal.pool.PoolStore` (the `PoolLike` port).

The lease store keeps the three items a lease is written as (the lease under
(recipient, number), the property's pointer, the account's slot) and applies `allocate`
and `renew` as the real transactions do: all items or none, each only if absent or
expired (`ExpiresAt <= now`), the number still in the pool for the country, and the
outcome named by the first condition that failed, in the transaction's order (lease,
pointer, slot, pool). A send's message given to either is stored in the same step through
the message store it shares (as the real stores share a table): a message stored already
raises MessageExists whatever else failed, and a message store that fails (its `failing`
switch) raises before any lease item changes. Reads return expired items too; the logic
judges liveness.
Held honest by `tests/contract/test_lease_store_contract.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from smsgw.dal.lease_store import (
    Pointer,
)
from smsgw.models.lease import MAX_LEASES_PER_RECIPIENT, Allocation, Lease, MessageExists
from smsgw.models.message import Message
from tests.fakes.messages import FakeMessageStore


class FakePool:
    """PoolStore: numbers and the countries each may send to."""

    def __init__(self) -> None:
        self.numbers: dict[str, tuple[tuple[str, ...], str | None]] = {}

    def add(
        self, number: str, countries: tuple[str, ...], created: str = "", carrier: str | None = None
    ) -> None:
        self.numbers[number] = (tuple(countries), carrier)

    def remove(self, number: str) -> None:
        del self.numbers[number]

    def has(self, number: str, country: str) -> bool:
        return country in self.numbers.get(number, ((), None))[0]

    def numbers_for(self, country: str, page_size: int = 100) -> Iterator[list[str]]:
        """Ascending (the index's sort key), a page at a time."""
        found = sorted(n for n in self.numbers if self.has(n, country))
        for start in range(0, len(found), page_size):
            yield found[start : start + page_size]

    def contains(self, number: str) -> bool:
        return number in self.numbers

    def carrier_of(self, number: str) -> str | None:
        return self.numbers.get(number, ((), None))[1]


@dataclass(frozen=True, slots=True)
class _Slot:
    lease_id: str
    number: str
    expires_at: int


class FakeLeaseStore:
    def __init__(self, pool: FakePool, messages: FakeMessageStore | None = None) -> None:
        self._pool = pool
        self._messages = messages if messages is not None else FakeMessageStore()
        """Where a leased send's message is stored: the use case's message store (a test
        that sends gives it; one of its own otherwise)."""
        self.leases: dict[tuple[str, str], Lease] = {}
        """(recipient, number) -> the lease item, live or expired."""
        self.pointers: dict[tuple[str, str], Pointer] = {}
        """(property, recipient) -> the property's pointer."""
        self.slots: dict[tuple[str, str, int], _Slot] = {}
        """(account, recipient, slot) -> the slot item."""
        self.opted_out: dict[tuple[str, str], str] = {}
        """(account, recipient) -> the ReplySid of the STOP."""

    # --- reads --------------------------------------------------------------------------

    def get(self, recipient: str, number: str, *, consistent: bool = True) -> Lease | None:
        return self.leases.get((recipient, number))

    def pointer(self, property_sid: str, recipient: str) -> Pointer | None:
        return self.pointers.get((property_sid, recipient))

    def free_slots(self, account_sid: str, recipient: str, now: int) -> list[int]:
        return [
            slot
            for slot in range(1, MAX_LEASES_PER_RECIPIENT + 1)
            if not _live(self.slots.get((account_sid, recipient, slot)), now)
        ]

    def live_numbers(self, recipient: str, numbers: list[str], now: int) -> set[str]:
        return {n for n in numbers if _live(self.leases.get((recipient, n)), now)}

    # --- writes -------------------------------------------------------------------------

    def allocate(
        self,
        lease: Lease,
        country: str,
        now: int,
        message: Message | None = None,
        *,
        wait_in_table: bool = False,
    ) -> str:
        self._check_new(message)
        if _live(self.leases.get((lease.recipient, lease.number)), now):
            return Allocation.NUMBER_TAKEN
        if _live(self.pointers.get((lease.property_sid, lease.recipient)), now):
            return Allocation.POINTER_TAKEN
        if _live(self.slots.get((lease.account_sid, lease.recipient, lease.slot)), now):
            return Allocation.SLOT_TAKEN
        if not self._pool.has(lease.number, country):
            return Allocation.NUMBER_GONE
        self._store(message, wait_in_table)
        self.leases[(lease.recipient, lease.number)] = lease
        self.pointers[(lease.property_sid, lease.recipient)] = Pointer(
            lease.lease_id, lease.number, lease.expires_at, lease.slot, lease.date_created
        )
        self.slots[(lease.account_sid, lease.recipient, lease.slot)] = _Slot(
            lease.lease_id, lease.number, lease.expires_at
        )
        return Allocation.ALLOCATED

    def renew(
        self,
        pointer: Pointer,
        property_sid: str,
        recipient: str,
        account_sid: str,
        expires_at: int,
        message_sid: str,
        response_options: dict[str, str] | None,
        now: int,
        message: Message | None = None,
        *,
        wait_in_table: bool = False,
    ) -> Lease | None:
        self._check_new(message)
        lease = self.leases.get((recipient, pointer.number))
        stored_pointer = self.pointers.get((property_sid, recipient))
        slot = self.slots.get((account_sid, recipient, pointer.slot))
        if (
            lease is None
            or lease.lease_id != pointer.lease_id
            or lease.property_sid != property_sid
            or not lease.expires_at > now
            or stored_pointer is None
            or stored_pointer.lease_id != pointer.lease_id
            or slot is None
            or slot.lease_id != pointer.lease_id
        ):
            return None
        self._store(message, wait_in_table)
        self.leases[(recipient, pointer.number)] = replace(
            lease,
            expires_at=expires_at,
            last_message_sid=message_sid,
            response_options=response_options or None,
        )
        self.pointers[(property_sid, recipient)] = replace(stored_pointer, expires_at=expires_at)
        self.slots[(account_sid, recipient, pointer.slot)] = replace(slot, expires_at=expires_at)
        return pointer.renewed(
            recipient=recipient,
            account_sid=account_sid,
            property_sid=property_sid,
            expires_at=expires_at,
            message_sid=message_sid,
            response_options=response_options,
        )

    def _check_new(self, message: Message | None) -> None:
        if message is not None and self._messages.get(message.message_sid) is not None:
            raise MessageExists(message.message_sid)

    def _store(self, message: Message | None, wait_in_table: bool) -> None:
        if message is not None:
            assert self._messages.create(message, wait_in_table=wait_in_table)

    # --- opt-outs -----------------------------------------------------------------------

    def is_opted_out(self, account_sid: str, recipient: str) -> bool:
        return (account_sid, recipient) in self.opted_out

    def opt_out(self, account_sid: str, recipient: str, stamp: str, reply_sid: str) -> None:
        self.opted_out[(account_sid, recipient)] = reply_sid

    def opt_in(self, account_sid: str, recipient: str) -> None:
        self.opted_out.pop((account_sid, recipient), None)


def _live(item: Lease | Pointer | _Slot | None, now: int) -> bool:
    return item is not None and item.expires_at > now
