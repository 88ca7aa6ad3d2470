"""Leased sender IDs: which sends need one, and taking or renewing a lease race-safely.

Rules (docs/leases.md): a lease binds (recipient, number) to one property for 30 days. For
a recipient a number is in at most one live lease, across all accounts, so an inbound SMS
from R to N names exactly one lease. A property re-sending to R renews its live lease; an
account holds at most 5 live leases to R. Every decision is a conditional write or a
transaction; the reads before them only choose what to try. A send's message is written
in the same transaction as its lease's change, so a send that fails leaves the lease as it
was (docs/decisions.md, "A lease changes only with its message").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from smsgw.errors import ErrorCode, ValidationError
from smsgw.ids import new_sid
from smsgw.kernel.addresses import region_of, supports_alphanumeric
from smsgw.models.lease import (
    LEASE_PREFIX,
    LEASE_SECONDS,
    MAX_LEASES_PER_RECIPIENT,
    Allocation,
    Lease,
    Pointer,
)
from smsgw.models.message import Message, iso_from_epoch
from smsgw.models.send_request import SENDER_ALPHANUMERIC, SENDER_LEASE, SendRequest

MAX_ROUNDS = 10
"""Fresh starts after a race was lost (slot or pointer taken concurrently)."""

MessageFor = Callable[[Lease], Message]
"""Builds a send's message once its lease is known (the number it goes out from)."""


class LeaseStoreLike(Protocol):
    def pointer(self, property_sid: str, recipient: str) -> Pointer | None: ...
    def free_slots(self, account_sid: str, recipient: str, now: int) -> list[int]: ...
    def live_numbers(self, recipient: str, numbers: list[str], now: int) -> set[str]: ...
    def allocate(
        self,
        lease: Lease,
        country: str,
        now: int,
        message: Message | None = None,
        *,
        wait_in_table: bool = False,
    ) -> Allocation: ...
    def renew(self, *args, **kwargs) -> Lease | None: ...
    def is_opted_out(self, account_sid: str, recipient: str) -> bool: ...


class PoolLike(Protocol):
    def numbers_for(self, country: str, page_size: int = 100): ...
    def contains(self, number: str) -> bool: ...


def needs_lease(request: SendRequest) -> bool:
    """Blank From, or an alphanumeric From to a country that does not accept one."""
    return request.sender_type == SENDER_LEASE or (
        request.sender_type == SENDER_ALPHANUMERIC and not supports_alphanumeric(request.to)
    )


def no_number(to: str, country: str | None) -> ValidationError:
    return ValidationError(
        ErrorCode.NO_LEASED_NUMBER_AVAILABLE,
        f"No leased number is free for recipients in {country or 'this country'} ({to}); "
        "send from an E.164 number, or try again later.",
        "From",
    )


@dataclass(frozen=True, slots=True)
class Leasing:
    leases: LeaseStoreLike
    pool: PoolLike

    def check_not_opted_out(self, account_sid: str, to: str) -> None:
        """Raises RECIPIENT_OPTED_OUT when the recipient replied STOP to this account."""
        if self.leases.is_opted_out(account_sid, to):
            raise ValidationError(
                ErrorCode.RECIPIENT_OPTED_OUT,
                f"{to} has opted out of messages from this account (replied STOP); they "
                "can opt back in by replying START.",
                "To",
            )

    def prepare(
        self,
        request: SendRequest,
        account_sid: str,
        property_sid: str,
        message_sid: str,
        now: float,
        *,
        message: MessageFor | None = None,
        wait_in_table: bool = False,
    ) -> Lease | None:
        """The checks a send needs and its lease: the opt-out check for every send, and a
        lease when the send needs one, written together with `message(lease)`. None when
        the send needs no lease (its message is not stored here)."""
        self.check_not_opted_out(account_sid, request.to)
        if not needs_lease(request):
            return None
        options = request.response_options.to_item() if request.response_options else None
        return self.acquire(
            account_sid,
            property_sid,
            request.to,
            message_sid,
            options,
            now,
            message=message,
            wait_in_table=wait_in_table,
        )

    def acquire(
        self,
        account_sid: str,
        property_sid: str,
        recipient: str,
        message_sid: str,
        response_options: dict[str, str] | None,
        now: float,
        *,
        message: MessageFor | None = None,
        wait_in_table: bool = False,
    ) -> Lease:
        """The property's live lease to `recipient`, renewed, or a new one from the pool;
        with `message`, the send's message `message(lease)` is stored in the same write,
        so the lease changes only if the message is stored.

        Raises LEASE_LIMIT_REACHED when the account already holds 5 live leases to the
        recipient, NO_LEASED_NUMBER_AVAILABLE when no pool number for the recipient's
        country is free for them, MessageExists (nothing changed) when the message is
        stored already.
        """
        moment = int(now)
        expires_at = moment + LEASE_SECONDS
        country = region_of(recipient)
        for _ in range(MAX_ROUNDS):
            pointer = self.leases.pointer(property_sid, recipient)
            if pointer is not None and pointer.expires_at > moment:
                wanted = pointer.renewed(
                    recipient=recipient,
                    account_sid=account_sid,
                    property_sid=property_sid,
                    expires_at=expires_at,
                    message_sid=message_sid,
                    response_options=response_options,
                )
                renewed = self.leases.renew(
                    pointer,
                    property_sid,
                    recipient,
                    account_sid,
                    expires_at,
                    message_sid,
                    response_options,
                    moment,
                    message(wanted) if message else None,
                    wait_in_table=wait_in_table,
                )
                if renewed is not None:
                    return renewed
                continue
            slots = self.leases.free_slots(account_sid, recipient, moment)
            if not slots:
                raise ValidationError(
                    ErrorCode.LEASE_LIMIT_REACHED,
                    f"This account already holds {MAX_LEASES_PER_RECIPIENT} live leases to "
                    f"{recipient}; send from one of its other properties' leases, an E.164 "
                    "number, or wait until one expires.",
                    "To",
                )
            lease = Lease(
                lease_id=new_sid(LEASE_PREFIX),
                recipient=recipient,
                number="",
                account_sid=account_sid,
                property_sid=property_sid,
                expires_at=expires_at,
                slot=slots[0],
                date_created=iso_from_epoch(now),
                last_message_sid=message_sid,
                response_options=response_options,
            )
            outcome = self._take_a_number(lease, country or "", moment, message, wait_in_table)
            if isinstance(outcome, Lease):
                return outcome
            if outcome == Allocation.NUMBER_TAKEN:
                raise no_number(recipient, country)
            # Lost a race for the slot or the pointer: look again.
        raise no_number(recipient, country)

    def _take_a_number(
        self,
        lease: Lease,
        country: str,
        now: int,
        message: MessageFor | None,
        wait_in_table: bool,
    ) -> Lease | str:
        """Try the pool's numbers for `country` in order. The Lease on success; Allocation.NUMBER_TAKEN
        when every number is leased to this recipient; another outcome when a race for the
        slot or the pointer was lost."""
        for numbers in self.pool.numbers_for(country):
            taken = self.leases.live_numbers(lease.recipient, numbers, now)
            for number in numbers:
                if number in taken:
                    continue
                candidate = replace(lease, number=number)
                outcome = self.leases.allocate(
                    candidate,
                    country,
                    now,
                    message(candidate) if message else None,
                    wait_in_table=wait_in_table,
                )
                if outcome == Allocation.ALLOCATED:
                    return candidate
                if outcome in (Allocation.NUMBER_TAKEN, Allocation.NUMBER_GONE):
                    continue
                return outcome
        return Allocation.NUMBER_TAKEN
