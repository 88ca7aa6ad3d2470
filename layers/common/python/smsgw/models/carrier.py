"""What crosses the carrier boundary: the messages, receipts and replies an adapter
takes or gives, and the errors it raises. The adapter interface itself is
`smsgw.logic.ports.Carrier`; the adapters are in `smsgw.carriers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    validity_seconds: int | None = None
    """Seconds the message's validity period has left when it is submitted (None: it has
    none): the carrier should stop trying to deliver it after them. Each adapter passes it
    in its own field, within the carrier's range (docs/carriers.md, "Validity period")."""


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
    """The carrier did not take the message: it refused it, or never got it.

    `permanent` errors (a bad number, a blocked sender) are recorded on the message;
    the others (throttling, the carrier's own 5xx, a connection refused) are retried. In
    both cases the carrier did not accept the message, so sending it again cannot
    duplicate it.

    `about_carrier` says whose fault it is: the carrier's state or our account there (a
    transient error; a permanent refusal of our credentials, of a sender not provisioned
    there, of a destination it does not serve) rather than the message's (an invalid or
    opted-out number). The default follows `permanent`: a transient error is about the
    carrier, a permanent one about the message; an adapter says otherwise where it knows.
    `fails_over` is the one rule built on both (docs/carriers.md, "Failover").

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
        about_carrier: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        self.carrier_message = carrier_message or None
        self.about_carrier = (not permanent) if about_carrier is None else about_carrier

    @property
    def fails_over(self) -> bool:
        """Whether the next carrier of the message's route may be tried: this carrier
        definitely did not take the message (every CarrierError says so; an unknown
        outcome is an OutcomeUnknownError instead) and the message was not at fault."""
        return self.about_carrier


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
