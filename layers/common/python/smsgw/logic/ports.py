"""The ports: what the use cases need from the outside world, as Protocols.

The adapters implement them: `smsgw.carriers` the carrier interface, `smsgw.dal` the
stores and queues. The use cases in `smsgw.logic` name only these, so they import no
adapter (docs/architecture.md). Ports one use case alone needs sit beside it (e.g.
`logic.leases.LeaseStoreLike`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from smsgw.models.carrier import CallbackRequest, OutboundSms, Receipt, Reply, SubmitResult
from smsgw.models.message import Message, SubmitState
from smsgw.models.send_job import ClaimAttempt, Turn
from smsgw.models.tenant import Account, Property

# --- the carrier adapter interface (smsgw.carriers) ----------------------------------------
#
# An adapter has four jobs: submit a message, verify that a callback really came from the
# carrier, and parse the carrier's delivery receipts and inbound replies. Adapters are the
# only code besides `dal/` that talks to the outside world.


class Carrier(Protocol):
    name: str

    def submit(self, sms: OutboundSms) -> SubmitResult:
        """Hand one message to the carrier. Raises CarrierError or OutcomeUnknownError."""
        ...

    def verify(self, request: CallbackRequest) -> bool:
        """True when the callback carries the carrier's valid signature."""
        ...

    def parse_receipt(self, request: CallbackRequest) -> Receipt:
        """The delivery receipt in a verified callback. Raises CallbackRejectedError."""
        ...

    def parse_reply(self, request: CallbackRequest) -> Reply:
        """The inbound reply in a verified callback. Raises CallbackRejectedError."""
        ...


class Reconciling(Protocol):
    """An adapter that can look up a message whose submission outcome is unknown.

    Optional (docs/carriers.md, "Reconciliation"): `reconcile` returns what the carrier
    holds for the message (its id and status) when it finds it, None when it does not;
    it raises CarrierError when the carrier could not be asked. A None is not proof that
    the carrier never took the message, so nobody resends on it.
    """

    def reconcile(self, sms: OutboundSms, claimed_at: float) -> SubmitResult | None: ...


class NamesMessageSid(Protocol):
    """An adapter whose delivery receipts carry our MessageSid back.

    Optional (docs/carriers.md, "Adding a carrier"): `receipts_name_message_sid(sms)` is
    True when the receipts for `sms` will name its MessageSid (a callback URL parameter, a
    client reference, a message context). Only for the others does the sender store the
    carrier-id lookup item that receipts are matched by (one more write per message).
    """

    def receipts_name_message_sid(self, sms: OutboundSms) -> bool: ...


def receipts_name_message_sid(carrier: Carrier, sms: OutboundSms) -> bool:
    """Whether `carrier`'s receipts for `sms` name our MessageSid (False when the adapter
    does not say)."""
    says = getattr(carrier, "receipts_name_message_sid", None)
    return bool(says(sms)) if callable(says) else False


# --- stores and queues (smsgw.dal) -------------------------------------------------------


class Tenants(Protocol):
    """Accounts and properties (dal.tenant_store.TenantStore)."""

    def get_account(self, account_sid: str) -> Account | None: ...
    def get_property(self, property_sid: str) -> Property | None: ...


class Messages(Protocol):
    """Stored messages (dal.message_store.MessageStore)."""

    def create(self, message: Message, *, wait_in_table: bool = False) -> bool: ...
    def get(self, message_sid: str, *, consistent: bool = False) -> Message | None: ...
    def transition(
        self,
        message_sid: str,
        status: str,
        event: dict[str, Any],
        *,
        allowed_from: tuple[str, ...] | None = None,
        set_attributes: dict[str, Any] | None = None,
        remove_attributes: tuple[str, ...] = (),
    ) -> Message | None: ...
    def redact(
        self, message_sid: str, event: dict[str, Any], final: tuple[str, ...]
    ) -> Message | None: ...


class Claims(Messages, Protocol):
    """Messages with their submission claims, for the sender (dal.claim_store.ClaimStore)."""

    def claim(
        self, message_sid: str, event: dict[str, Any], now: int, *, due_by: int
    ) -> ClaimAttempt: ...
    def settle_claim(
        self,
        message_sid: str,
        submit_state: SubmitState,
        event: dict[str, Any],
        *,
        status: str | None = None,
        set_attributes: dict[str, Any] | None = None,
        now: int = 0,
    ) -> bool: ...
    def record_accepted(self, message_sid: str, set_attributes: dict[str, Any]) -> bool: ...
    def get_submit_state(self, message_sid: str) -> tuple[Message, str | None] | None: ...
    def get(self, message_sid: str, *, consistent: bool = False) -> Message | None: ...
    def index_stale_claim(self, message_sid: str, claimed_at: int) -> bool: ...


class OptOuts(Protocol):
    """Recipients who replied STOP to an account (dal.lease_store.LeaseStore)."""

    def is_opted_out(self, account_sid: str, recipient: str) -> bool: ...


class SendJobs(Protocol):
    """SendQueue (dal.send_queue.SendQueue)."""

    def enqueue(
        self, message_sid: str, delay_seconds: int = 0, *, turn: Turn | None = None
    ) -> None:
        """Queue a job for `message_sid`, holding a rate limit's `turn` when it has one."""
        ...


class WaitingRoom(Protocol):
    """Scheduled messages waiting in the table, and the scheduler's cursor
    (dal.schedule_store.ScheduleStore)."""

    def waiting(self, bucket: int, shard: int) -> Iterator[tuple[str, int]]: ...
    def acquire(self, owner: str, now: int, lease_seconds: int, first: int) -> int | None: ...
    def advance(self, owner: str, bucket: int) -> bool: ...
    def release(self, owner: str) -> None: ...
    def created_at(self) -> int:
        """When the table was created (epoch seconds): nothing waits in it from before."""
        ...


class IdempotencyClaim(Protocol):
    """What claiming an Idempotency-Key found (dal.idempotency.IdempotencyRecord)."""

    @property
    def claimed(self) -> bool:
        """True when this request now owns the key and must do the work."""
        ...

    @property
    def message_sid(self) -> str: ...
    @property
    def body_hash(self) -> str: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def response(self) -> dict[str, Any] | None: ...


class IdempotencyKeys(Protocol):
    """The API's Idempotency-Key records (dal.idempotency.IdempotencyStore)."""

    def claim(
        self, scope: str, body_hash: str, message_sid: str, *, now: int, ttl: int, lock: int
    ) -> IdempotencyClaim: ...
    def complete(self, scope: str, status_code: int, response: dict[str, Any]) -> None: ...
    def release(self, scope: str) -> None: ...
