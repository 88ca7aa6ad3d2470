"""The carrier adapter interface.

An adapter has four jobs: submit a message, verify that a callback really came from the
carrier, and parse the carrier's delivery receipts and inbound replies. Adapters are the
only code besides `dal/` that talks to the outside world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from smsgw import explanations

GATEWAY_SID_PARAM = "smsgw_sid"
"""How our MessageSid travels with a message to the carrier and back in its receipts: a
query parameter of the callback URL (Twilio, Vonage) or a `Context` key (End User
Messaging)."""


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """What a carrier needs to send one message."""

    message_sid: str
    sender: str
    to: str
    text: str
    status_callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitResult:
    carrier_sid: str
    carrier_status: str

    @property
    def further_part_sids(self) -> tuple[str, ...]:
        """The carrier's ids of a long message's parts after the first (`carrier_sid`),
        where each part has an id and a receipt of its own; empty otherwise."""
        return ()


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A carrier's HTTP callback as it reached the webhooks endpoint."""

    method: str
    url: str
    headers: dict[str, str]
    body: str = ""
    query: dict[str, str] = field(default_factory=dict)


IGNORED = "ignored"
"""Receipt status for a carrier's intermediate statuses, which move no message forward."""


@dataclass(frozen=True, slots=True)
class Receipt:
    carrier_sid: str
    status: str
    """The product's status: sent, delivered, undelivered or failed."""
    error_code: int | None = None
    error_message: str | None = None
    message_sid: str | None = None
    carrier_status: str = ""
    """The carrier's own status word (e.g. Twilio's `delivered`, EUM's `TEXT_DELIVERED`),
    recorded on the message's event as `CarrierStatus`."""


@dataclass(frozen=True, slots=True)
class Reply:
    carrier_sid: str
    responder: str
    number: str
    text: str


class CarrierError(Exception):
    """The carrier answered and refused the message.

    `permanent` errors (a bad number, a blocked sender) are recorded on the message;
    the others (throttling, the carrier's own 5xx) are retried. In both cases the carrier
    did not accept the message, so sending it again cannot duplicate it.

    The text is for the logs. `carrier_message` is the carrier's own human message for the
    refusal (e.g. Twilio's `message`), the only text of it a customer may read; `code` is
    the carrier's own error code.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        retry_after: float | None = None,
        carrier_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        self.carrier_message = carrier_message or None


class OutcomeUnknownError(Exception):
    """The request may have reached the carrier but no answer came back (a timeout or a
    connection dropped mid-request). Resending could deliver the message twice.

    The text is for the logs; `detail` is the customer's sentence for the cause
    (smsgw.explanations)."""

    def __init__(self, message: str, *, detail: str = explanations.CARRIER_OUTCOME_UNKNOWN):
        super().__init__(message)
        self.detail = detail


class CallbackRejectedError(Exception):
    """A callback failed signature verification or could not be parsed."""


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
