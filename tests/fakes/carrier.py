"""A scripted carrier adapter (the `Carrier` port of `smsgw.logic.ports`, with the
optional `reconcile`), and a mailer (the `Mailer` port of `smsgw.logic.replies`).

These stand for the outside world, not for a store, so no contract test pairs them with
moto: their behaviour is the port's documented one (what each exception means), and a
test scripts which one happens.

The carrier's callbacks are plain: a request is signed when its `X-Fake-Signature` header
is `valid`, and its query holds the receipt's or the reply's fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from smsgw.logic.replies import MailRejectedError, MailUnavailableError
from smsgw.models.carrier import (
    GATEWAY_SID_PARAM,
    CallbackRejectedError,
    CallbackRequest,
    OutboundSms,
    Receipt,
    SubmitResult,
)
from smsgw.models.carrier import Reply as InboundSms

SIGNATURE_HEADER = "x-fake-signature"

Outcome = SubmitResult | Exception | Callable[[OutboundSms], SubmitResult]


@dataclass
class FakeCarrier:
    name: str = "twilio"
    outcomes: list[Outcome] = field(default_factory=list)
    """What the next submissions do, in order: a SubmitResult (accepted), an exception to
    raise (CarrierError, OutcomeUnknownError, ...) or a callable. Once used up, accepted."""
    submissions: list[OutboundSms] = field(default_factory=list)
    """Every submission that reached the carrier (including refused ones)."""
    holds: dict[str, SubmitResult] = field(default_factory=dict)
    """MessageSid -> what `reconcile` finds; a message not here is not found."""
    can_reconcile: bool = True
    reconcile_error: Exception | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def submit(self, sms: OutboundSms) -> SubmitResult:
        self.submissions.append(sms)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        if callable(outcome):
            outcome = outcome(sms)
        return outcome or SubmitResult(f"CA{next(self._ids):032d}", "queued")

    def submitted_sids(self) -> list[str]:
        return [sms.message_sid for sms in self.submissions]

    def reconcile(self, sms: OutboundSms, claimed_at: float) -> SubmitResult | None:
        if not self.can_reconcile:
            return None
        if self.reconcile_error is not None:
            raise self.reconcile_error
        return self.holds.get(sms.message_sid)

    # --- callbacks ----------------------------------------------------------------------

    def verify(self, request: CallbackRequest) -> bool:
        return request.headers.get(SIGNATURE_HEADER) == "valid"

    def parse_receipt(self, request: CallbackRequest) -> Receipt:
        query = request.query
        if "CarrierSid" not in query or "Status" not in query:
            raise CallbackRejectedError("not a receipt")
        return Receipt(
            carrier_sid=query["CarrierSid"],
            status=query["Status"],
            error_code=int(query["ErrorCode"]) if query.get("ErrorCode") else None,
            message_sid=query.get(GATEWAY_SID_PARAM),
            carrier_status=query.get("CarrierStatus", query["Status"]),
        )

    def parse_reply(self, request: CallbackRequest) -> InboundSms:
        query = request.query
        if not all(name in query for name in ("CarrierSid", "From", "To")):
            raise CallbackRejectedError("not an inbound message")
        return InboundSms(query["CarrierSid"], query["From"], query["To"], query.get("Text", ""))


def callback(query: dict[str, str], *, signed: bool = True) -> CallbackRequest:
    """A callback request to a FakeCarrier carrying `query`."""
    headers = {SIGNATURE_HEADER: "valid" if signed else "forged"}
    return CallbackRequest("POST", "https://hooks.example.com/cb", headers, "", dict(query))


@dataclass(frozen=True, slots=True)
class SentMail:
    source: str
    to: str
    subject: str
    body: str
    reply_to: str | None


@dataclass
class FakeMailer:
    verified: set[str] | None = None
    """Senders the mail service accepts (None: all); another is MailRejectedError."""
    outcomes: list[Exception] = field(default_factory=list)
    """Exceptions the next sends raise, in order (MailUnavailableError, an unknown one...)."""
    sent: list[SentMail] = field(default_factory=list)

    def send(
        self, source: str, to: str, subject: str, body: str, reply_to: str | None = None
    ) -> str:
        if self.outcomes:
            raise self.outcomes.pop(0)
        if self.verified is not None and source not in self.verified:
            raise MailRejectedError(f"Email address is not verified: {source}")
        self.sent.append(SentMail(source, to, subject, body, reply_to))
        return f"mail-{len(self.sent)}"


__all__ = [
    "FakeCarrier",
    "FakeCarriers",
    "FakeMailer",
    "MailUnavailableError",
    "SentMail",
    "callback",
]


@dataclass
class FakeCarriers:
    """The carriers of a deployment with routes (what `smsgw.carriers.Carriers` gives the
    sender): FakeCarriers by name, routes by prefix, and the deployment's carrier."""

    adapters: dict[str, FakeCarrier]
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deployment_carrier: str = "twilio"
    pool_carriers: dict[str, str] = field(default_factory=dict)
    """A leased number → the carrier its pool item names."""

    def route_for(self, to: str, sender: str | None, leased: bool) -> tuple[str, ...]:
        from smsgw.logic.routing import route_for

        if leased:
            return (self.pool_carriers.get(sender or "", self.deployment_carrier),)
        return route_for(self.routes, to, self.deployment_carrier)

    def adapter(self, name: str) -> FakeCarrier:
        from smsgw.models.carrier import CarrierError

        if name not in self.adapters:
            raise CarrierError(f"carrier {name} is not configured", permanent=False)
        return self.adapters[name]
