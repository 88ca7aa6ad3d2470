"""Replies on leased numbers: verify, store, opt-out keywords, and routing to forwards.

The carrier's request costs one GetItem (the lease), one for its property (whether it has
a retention period: its replies are then listed for the retention pass), one more when
the lease has response options (whether the reply is our own SMS forward coming back:
those are not forwarded again), one transaction (the reply, the forwards it is due, and
its once-only marker) and an opt-out write for a STOP/START keyword. It sends nothing: the
reply's insert on the table's stream makes the notifier queue its forwards
(`logic/outbox.py`), which it then makes (`Forwarder`, and `logic/webhook_delivery.py`
for the webhook), never inline.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from smsgw import explanations
from smsgw.errors import ErrorCode, TransientError, ValidationError
from smsgw.ids import MESSAGE_PREFIX, derived_sid
from smsgw.kernel.text import analyse, fit_text, printable_text
from smsgw.logic.ports import Carrier, Tenants
from smsgw.logic.receipts import verify_callback
from smsgw.logic.send_request_use_case import store_and_queue
from smsgw.models.callback import REPLY, CallbackJob
from smsgw.models.carrier import CallbackRejectedError, CallbackRequest
from smsgw.models.lease import (
    FORWARD_EMAIL,
    FORWARD_SMS,
    REPLY_PREFIX,
    ForwardJob,
    Lease,
    Reply,
    reply_webhook_id,
)
from smsgw.models.message import QUEUED, Message, iso_from_epoch

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})


class Keyword(StrEnum):
    """What a reply that is only a keyword asks for (the stored reply's `Keyword`)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


class ReplyResult(StrEnum):
    """What became of an inbound reply (Vonage's and End User Messaging's answer says it)."""

    ROUTED = "routed"
    """Stored with its forwards, which the notifier queues from the table's stream."""
    STORED = "stored"
    """Stored on its live lease, with nothing to forward."""
    UNMATCHED = "unmatched"
    """No live lease: stored aside."""
    DUPLICATE = "duplicate"
    """The carrier retried: stored once, with its forwards (nothing more is done)."""


MAX_FORWARD_CHARACTERS = 1600
"""The API's limit on a message's Text (SendLimits.max_text_characters), which a
forwarded SMS obeys too."""
FORWARD_ECHO_SECONDS = 24 * 3600
"""How long an SMS forward is remembered, to be known if it arrives on one of our numbers."""
TRUNCATED_MARKER = " (truncated)"
"""Ends a forwarded SMS whose reply was longer than the limit (GSM-7, docs/leases.md)."""


def keyword(text: str) -> str | None:
    """`opt_out` or `opt_in` when the whole message (trimmed, any case) is a keyword."""
    word = text.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return Keyword.OPT_IN
    return None


class LeaseLookup(Protocol):
    def get(self, recipient: str, number: str, *, consistent: bool = True) -> Lease | None: ...
    def opt_out(self, account_sid: str, recipient: str, stamp: str, reply_sid: str) -> None: ...
    def opt_in(self, account_sid: str, recipient: str) -> None: ...


class ReplyStoreLike(Protocol):
    def store(
        self,
        reply: Reply,
        now: float,
        forwards: dict[str, str] | None = None,
        *,
        retained: bool = False,
    ) -> bool: ...
    def is_sms_forward(self, sender: str, to: str, text: str, now: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    result: ReplyResult
    reply_sid: str
    forwards: tuple[str, ...] = ()


def forward_jobs(reply: Reply, options: dict[str, str] | None) -> list[Any]:
    """The CallbackQueue jobs that forward `reply` by the latest message's options (the
    notifier builds them from the stored reply and its `Forwards`, logic/outbox.py)."""
    if not options:
        return []
    resource = reply.to_resource()
    jobs: list[Any] = []
    if options.get("ForwardToSms") and printable_text(reply.text):
        # An empty reply has nothing to forward by SMS (docs/leases.md)
        jobs.append(ForwardJob(FORWARD_SMS, resource, dict(options)))
    if options.get("ForwardToEmail"):
        jobs.append(ForwardJob(FORWARD_EMAIL, resource, dict(options)))
    if options.get("WebhookUri"):
        jobs.append(
            CallbackJob(
                webhook_id=reply_webhook_id(reply.reply_sid),
                uri=options["WebhookUri"],
                method=(options.get("WebhookMethod") or "POST").upper(),
                payload={**resource, "Event": "reply"},
                kind=REPLY,
            )
        )
    return jobs


class ReplyProcessor:
    def __init__(
        self, *, carrier: Carrier, leases: LeaseLookup, store: ReplyStoreLike, tenants: Tenants
    ) -> None:
        self._carrier = carrier
        self._leases = leases
        self._store = store
        self._tenants = tenants

    def handle(self, request: CallbackRequest, received_at: str, now: float) -> ReplyOutcome:
        """Verify, store and route one inbound SMS. Raises ForbiddenError for a callback
        without the carrier's valid signature (nothing is stored) and ValidationError for a
        signed one that is not an inbound message. A reply with no live lease is stored
        and acknowledged, never an error to the carrier. A reply to be forwarded is stored
        with its forwards (the lease's response options) in the same write; the notifier
        queues them from the table's stream, so a crash after the write loses none."""
        verify_callback(self._carrier, request)
        try:
            inbound = self._carrier.parse_reply(request)
        except CallbackRejectedError as exc:
            raise ValidationError(ErrorCode.REPLY_INVALID, str(exc), None) from exc
        carrier = self._carrier.name
        lease = self._leases.get(inbound.responder, inbound.number)
        if lease is not None and not lease.is_live(now):
            lease = None
        action = keyword(inbound.text) if lease else None
        reply = Reply(
            reply_sid=derived_sid(REPLY_PREFIX, f"{carrier}:{inbound.carrier_sid}"),
            responder=inbound.responder,
            number=inbound.number,
            text=inbound.text,
            received_at=received_at,
            carrier=carrier,
            carrier_sid=inbound.carrier_sid,
            lease_id=lease.lease_id if lease else None,
            account_sid=lease.account_sid if lease else None,
            property_sid=lease.property_sid if lease else None,
            message_sid=lease.last_message_sid if lease else None,
            keyword=action,
        )
        if lease is not None and action == Keyword.OPT_OUT:
            # Before the reply is stored: a retried callback repeats this harmlessly.
            self._leases.opt_out(lease.account_sid, inbound.responder, received_at, reply.reply_sid)
        elif lease is not None and action == Keyword.OPT_IN:
            self._leases.opt_in(lease.account_sid, inbound.responder)
        options = lease.response_options if lease else None
        if options and self._store.is_sms_forward(
            inbound.responder, inbound.number, printable_text(inbound.text), now
        ):
            # One of our own SMS forwards arriving on a leased number: forwarding it again
            # could bounce it between numbers forever. One hop only (docs/leases.md).
            options = None
        kinds = tuple(getattr(job, "kind", "") for job in forward_jobs(reply, options))
        # Stored with its forwards only when there is one to make: the stream's filter
        # passes a reply to the notifier by that attribute.
        stored = self._store.store(
            reply,
            now,
            dict(options) if options and kinds else None,
            retained=lease is not None and self._retains(lease.property_sid),
        )
        if not stored:
            # The carrier retried: the first callback's write is on the stream already.
            return ReplyOutcome(ReplyResult.DUPLICATE, reply.reply_sid, kinds)
        if lease is None:
            return ReplyOutcome(ReplyResult.UNMATCHED, reply.reply_sid)
        return ReplyOutcome(
            ReplyResult.ROUTED if kinds else ReplyResult.STORED, reply.reply_sid, kinds
        )

    def _retains(self, property_sid: str) -> bool:
        """Whether the property has a retention period: its replies are then listed for
        the retention pass, which removes the text of one that arrived after its message's
        was removed, the period after it arrived (logic/retention.py)."""
        prop = self._tenants.get_property(property_sid)
        return prop is not None and prop.retention_days is not None


# --- the notifier's side: SMS and e-mail forwards ---------------------------------------


class MessageSink(Protocol):
    def create(self, message: Message, *, wait_in_table: bool = False) -> bool: ...
    def get(self, message_sid: str, *, consistent: bool = False) -> Message | None: ...


class SendQueueLike(Protocol):
    def enqueue(self, message_sid: str, delay_seconds: int = 0) -> None: ...


class ForwardClaims(Protocol):
    def claim_forward(self, reply_sid: str, kind: str, now: float) -> bool: ...
    def settle_forward(self, reply_sid: str, kind: str, detail: str) -> None: ...
    def release_forward(self, reply_sid: str, kind: str) -> None: ...
    def record_sms_forward(
        self, sender: str, to: str, text: str, message_sid: str, expires_at: int
    ) -> None: ...


class MailRejectedError(Exception):
    """The mail service refused the message (e.g. an unverified sender): nothing was sent."""


class MailUnavailableError(Exception):
    """The mail service could not be reached or throttled us: nothing was sent; retry."""


class Mailer(Protocol):
    def send(
        self, source: str, to: str, subject: str, body: str, reply_to: str | None = None
    ) -> str:
        """Send one plain-text e-mail; its message id. Raises MailRejectedError,
        MailUnavailableError, or anything else for an unknown outcome."""
        ...


def email_content(reply: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of a forwarded reply. The subject is one line of
    printable text (no header can be injected through it); the mail service builds the
    headers from the API's separate fields."""
    sender = _one_line(reply.get("From"))[:32]
    subject = f"SMS reply from {sender}"
    body = (
        f"{printable_text(str(reply.get('Text', '')))}\n\n"
        f"--\nFrom: {sender}\nTo: {_one_line(reply.get('To'))[:32]}\n"
        f"Received: {reply.get('DateReceived', '')}\n"
        f"In reply to message: {reply.get('MessageSid') or '-'}\n"
    )
    return subject, body


def _one_line(value: Any) -> str:
    return " ".join(printable_text(str(value or "")).split("\n"))


def forwarded_text(text: str, max_characters: int = MAX_FORWARD_CHARACTERS) -> str:
    """What a forwarded SMS says: the reply without control and bidirectional formatting
    characters, cut to `max_characters` with TRUNCATED_MARKER at its end if longer."""
    return fit_text(printable_text(text), max_characters, TRUNCATED_MARKER)


def forwarded_sms(
    job: ForwardJob, now: float, max_characters: int = MAX_FORWARD_CHARACTERS
) -> Message:
    """The new message that forwards a reply by SMS: From ForwardFromSms, else the
    responder's number; its MessageSid is derived from the reply, so it is created once."""
    reply, options = job.reply, job.options
    sender = options.get("ForwardFromSms") or reply["From"]
    text = forwarded_text(reply["Text"], max_characters)
    info = analyse(text)
    created = iso_from_epoch(now)
    return Message(
        message_sid=derived_sid(MESSAGE_PREFIX, f"forward:{job.reply_sid}"),
        account_sid=reply["AccountSid"],
        property_sid=reply["PropertySid"],
        sender=sender,
        sender_type="e164" if sender.startswith("+") else "alphanumeric",
        to=options["ForwardToSms"],
        text=text,
        status=QUEUED,
        segments=info.segments,
        encoding=info.encoding,
        date_created=created,
        deliver_at=int(now),
        source="forward",
        events=[{"Status": QUEUED, "Timestamp": created, "Detail": f"reply {job.reply_sid}"}],
    )


class Forwarder:
    """Forwards one reply by SMS (a new message through SendQueue, so the sender submits
    it exactly once) or by e-mail (at most once: claimed before it is sent)."""

    def __init__(
        self,
        *,
        messages: MessageSink,
        send_queue: SendQueueLike,
        claims: ForwardClaims,
        mailer: Mailer,
        no_reply_email: str,
        max_text_characters: int = MAX_FORWARD_CHARACTERS,
    ) -> None:
        self._messages = messages
        self._max_characters = max_text_characters
        self._send_queue = send_queue
        self._claims = claims
        self._mailer = mailer
        self._no_reply = no_reply_email

    def forward(self, job: ForwardJob, now: float) -> str:
        """What was done: `queued`, `sent`, `skipped`. Raises TransientError to retry."""
        if job.kind == FORWARD_SMS:
            if not forwarded_text(job.reply["Text"]):
                return "skipped: an empty reply is not forwarded by SMS"
            forward = forwarded_sms(job, now, self._max_characters)
            # Before it can be sent: known as ours if it arrives on one of our numbers.
            self._claims.record_sms_forward(
                forward.sender,
                forward.to,
                forward.text,
                forward.message_sid,
                int(now) + FORWARD_ECHO_SECONDS,
            )
            message = store_and_queue(self._messages, self._send_queue, forward, now)
            return f"queued {message.message_sid}"
        return self._email(job, now)

    def _email(self, job: ForwardJob, now: float) -> str:
        if not self._claims.claim_forward(job.reply_sid, FORWARD_EMAIL, now):
            return "skipped: already forwarded (or its outcome is unknown)"
        subject, body = email_content(job.reply)
        to = job.options["ForwardToEmail"]
        source = job.options.get("ForwardFromEmail") or self._no_reply
        try:
            try:
                sent = self._mailer.send(source, to, subject, body)
            except MailRejectedError:
                if source == self._no_reply:
                    raise
                # The customer's From is not a verified sender: send from the no-reply
                # address, with replies going to theirs.
                sent = self._mailer.send(self._no_reply, to, subject, body, reply_to=source)
        except MailRejectedError as exc:
            detail = explanations.FORWARD_EMAIL_REJECTED
            self._claims.settle_forward(job.reply_sid, FORWARD_EMAIL, detail)
            return f"rejected: {exc}"  # for the log, with the ReplySid
        except MailUnavailableError as exc:
            self._claims.release_forward(job.reply_sid, FORWARD_EMAIL)
            raise TransientError(str(exc)) from exc
        self._claims.settle_forward(job.reply_sid, FORWARD_EMAIL, explanations.FORWARD_EMAIL_SENT)
        return f"sent {sent}"
