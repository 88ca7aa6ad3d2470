"""The sender's work: turn a SendQueue record into exactly one carrier submission.

Right before a claimed message is submitted, its validity period and the recipient's
opt-out are checked. A message whose `ValidityPeriod` has run out (it waited behind a
throttled carrier, or was retried after carrier errors) is not sent: it ends `failed` with
ErrorCode 30005 (docs/api.md). A recipient who replied STOP since the message was accepted
gets nothing either (one GetItem), and the message ends `failed` with ErrorCode 22003
(docs/leases.md).

Policy for each outcome (docs/reliability.md):
  accepted            -> sent, with the carrier's id
  refused, permanent  -> failed, with the carrier's error
  refused, transient  -> the claim is released and the record retried by SQS; on the last
                         attempt the message is failed instead (nothing waits in limbo)
  outcome unknown     -> stays `sending` with SubmitState=unknown, never resent blindly
"""

from __future__ import annotations

import time
from typing import Any

from smsgw import explanations
from smsgw.errors import ErrorCode, TransientError
from smsgw.ids import is_well_formed
from smsgw.kernel.scheduling import waits_in_table
from smsgw.logic.breaker import CircuitBreakers, Gate
from smsgw.logic.carrier_answer import ClaimWrites, log_carrier_error, persist
from smsgw.logic.ports import (
    Carrier,
    Claims,
    OptOuts,
    SendJobs,
    Tenants,
    receipts_name_message_sid,
)
from smsgw.logic.rate_limits import RateLimits
from smsgw.logic.send_pacing import SendPacing
from smsgw.logic.send_request_use_case import SendLimits, SendRequests
from smsgw.models.carrier import (
    GATEWAY_SID_PARAM,
    CarrierError,
    OutboundSms,
    OutcomeUnknownError,
)
from smsgw.models.message import (
    FAILED,
    QUEUED,
    SCHEDULED,
    SENDING,
    SENT,
    SUBMIT_CLAIMED,
    SUBMIT_DONE,
    SUBMIT_RETRYABLE,
    SUBMIT_UNKNOWN,
    Message,
    iso_from_epoch,
)
from smsgw.models.send_job import STALE_CLAIM_SECONDS, JobOutcome, Outcome, SendJob, Turn
from smsgw.observability import logger

# Message error codes (docs/errors.md, "Message errors").
CARRIER_REJECTED = 30001
CARRIER_UNAVAILABLE = 30002
VALIDITY_PERIOD_EXPIRED = 30005
RECIPIENT_OPTED_OUT = ErrorCode.RECIPIENT_OPTED_OUT.number

# A job scheduled this close to now is sent rather than put back on the queue.
DUE_TOLERANCE_SECONDS = 1


class Dispatcher:
    def __init__(
        self,
        *,
        claims: Claims,
        tenants: Tenants,
        queue: SendJobs,
        opt_outs: OptOuts,
        carrier: Carrier | None = None,
        limits: SendLimits,
        max_attempts: int = 5,
        clock=time.time,
        status_callback_base: str | None = None,
        receipts: Any = None,
        leasing: Any = None,
        carriers: Any = None,
        breakers: CircuitBreakers | None = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        # `carriers` (smsgw.carriers.Carriers) picks the adapter per message: a leased
        # number's pool carrier, else the deployment's; without it, `carrier` sends all.
        if carrier is None and carriers is None:
            raise ValueError("a Dispatcher needs a carrier or carriers")
        self._carriers = carriers
        # Circuit breakers (logic/breaker.py): a carrier whose breaker is open is skipped
        # for the next of the route; without them, every carrier is always tried.
        self._breakers = breakers
        self._writes = ClaimWrites(claims, lambda: self._clock())
        # Throughput limits (logic/send_pacing.py): a submission waits for its turn.
        self._pacing = (
            None
            if rate_limits is None
            else SendPacing(
                rate_limits,
                claims=claims,
                queue=queue,
                writes=self._writes,
                route_for=self.route_for,
                breakers=breakers,
            )
        )
        # Raw requests are accepted by the API's use case (logic/send_request_use_case.py),
        # with the same opt-out check and leases (logic/leases.py).
        self._send_requests = SendRequests(
            tenants=tenants, messages=claims, queue=queue, limits=limits, leasing=leasing
        )
        # Delivery receipts (docs/webhooks.md): the carrier calls
        # {status_callback_base}?smsgw_sid=<MessageSid>; `receipts` remembers the carrier's
        # id for receipts that do not name ours. The customer's webhook for a message the
        # sender fails comes from the table's stream, like a receipt's (logic/outbox.py).
        self._status_callback_base = status_callback_base
        self._receipts = receipts
        self._claims = claims
        self._opt_outs = opt_outs
        self._queue = queue
        self._carrier = carrier
        self._max_attempts = max_attempts
        self._clock = clock

    def handle(self, job: SendJob) -> Outcome:
        """Process one record. Raises TransientError when SQS should deliver it again."""
        now = self._clock()
        sid = self._job_sid(job)
        if sid is None:
            message = self._send_requests.accept_raw(job.body, job.message_id, now)
            if message.status not in (QUEUED, SCHEDULED, SENDING) or (
                message.status == SCHEDULED
                and waits_in_table(int(message.deliver_at or 0), int(now))
            ):
                # Final, or waiting in the table for the scheduler.
                return Outcome(message.message_sid, message.status)
            sid = message.message_sid
        held = job.turn()
        if (held is None or not held.taken) and self._pacing is not None:
            # a rate limit's turn too far to sleep for: back to the queue, unclaimed
            held, waiting = self._pacing.before_claim(sid, now + DUE_TOLERANCE_SECONDS, held)
            if waiting is not None:
                return waiting
        # Claim first: one conditional write decides, and on the common path no read is needed.
        attempt = self._claims.claim(
            sid,
            {"Status": SENDING, "Timestamp": iso_from_epoch(now)},
            int(now),
            due_by=int(now) + DUE_TOLERANCE_SECONDS,
        )
        claimed = attempt.claimed
        if claimed is not None:
            try:
                return self._submit(claimed, job, held)
            except TransientError as exc:  # the retry comes back by the validity deadline
                exc.expires_in = claimed.validity_left(self._clock())
                raise
        # Refused: the write answered with the message as it stands (no second read).
        current, submit_state = attempt.current, attempt.submit_state
        if current is None:
            return Outcome(sid, JobOutcome.MISSING)
        claimed_at = current.claimed_at or 0
        if submit_state == SUBMIT_CLAIMED and claimed_at < now - STALE_CLAIM_SECONDS:
            # A claim no live sender can still hold and that recorded no outcome: its sender
            # died (this job is its redelivery). Never resent; reconciliation looks it up.
            self._claims.index_stale_claim(sid, claimed_at)
        if current.status in (QUEUED, SCHEDULED) and (current.deliver_at or 0) > now:
            # Not due yet (a raw request with a Schedule): a delayed job comes back for it.
            self._queue.enqueue(sid, int((current.deliver_at or 0) - now))
        return Outcome(sid, current.status)

    def end_batch(self) -> None:
        """After a batch of jobs: count their carriers' results for the breakers, one
        write per carrier (logic/breaker.py)."""
        if self._breakers is not None:
            self._breakers.flush()

    def _job_sid(self, job: SendJob) -> str | None:
        """The MessageSid of a job the gateway queued; None for a raw send request."""
        body = job.queued()
        if body is None:
            return None
        sid = body["MessageSid"]
        return sid if isinstance(sid, str) and is_well_formed(sid) else "-"

    def route_for(self, message: Message) -> tuple[str, ...]:
        """The carriers that may send `message`, first choice first (docs/carriers.md,
        "Routes"): a leased number's own carrier alone, else its destination's route."""
        if self._carriers is None:
            return (self._carrier.name,)
        return self._carriers.route_for(message.to, message.sender, bool(message.lease))

    def carrier(self, name: str) -> Carrier:
        """The adapter of the carrier `name` (one of a route's). Raises CarrierError (not
        permanent) when that carrier is not configured."""
        if self._carriers is None:
            return self._carrier
        return self._carriers.adapter(name)

    def outbound(self, message: Message, carrier: Carrier, now: float | None = None) -> OutboundSms:
        """What `carrier` is sent for `message` at `now` (default: the clock's time), with
        the validity that remains then."""
        sid = message.message_sid
        return OutboundSms(
            message_sid=sid,
            sender=message.sender or "",
            to=message.to,
            text=message.text,
            status_callback_url=self._status_callback_url(sid, carrier.name),
            validity_seconds=message.validity_left(self._clock() if now is None else now),
        )

    def _submit(self, claimed: Message, job: SendJob, held: Turn | None = None) -> Outcome:
        sid = claimed.message_sid
        now = self._clock()
        if claimed.expired(now):
            # Under the claim, so only this job decides; a redelivery finds the message
            # final. Its deadline was fixed at acceptance: no retry moves it.
            detail = explanations.VALIDITY_PERIOD_EXPIRED
            persist(self._writes.settle, sid, SUBMIT_DONE, FAILED, detail, VALIDITY_PERIOD_EXPIRED)
            return Outcome(sid, FAILED)
        if self._opted_out(claimed):
            # Under the claim, so only this job decides; a redelivery finds the message final.
            detail = explanations.RECIPIENT_OPTED_OUT_AT_SEND
            persist(self._writes.settle, sid, SUBMIT_DONE, FAILED, detail, RECIPIENT_OPTED_OUT)
            return Outcome(sid, FAILED)
        # Failover (docs/carriers.md): the next carrier of the route only after one that
        # definitely did not take the message, for a reason that is not the message's.
        route = self.route_for(claimed)
        for index, name in enumerate(route):
            last = index + 1 == len(route)
            gate = self._gate(name)
            if gate is Gate.OPEN and not last:
                # Recorded before the next carrier can hold it: reconciliation asks `Carrier`.
                persist(self._writes.fail_over, sid, name, route[index + 1], None)
                continue
            pace = None if self._pacing is None else self._pacing.pace(name, claimed, held)
            if pace is not None:
                return self._pacing.wait_after_claim(claimed, name, pace)
            try:
                carrier = self.carrier(name)
                sms = self.outbound(claimed, carrier, now)
                result = carrier.submit(sms)
            except OutcomeUnknownError as exc:
                log_carrier_error(sid, exc, name)
                self._record(name, gate, failed=True)
                persist(
                    self._writes.settle, sid, SUBMIT_UNKNOWN, None, exc.detail, carrier_name=name
                )
                return Outcome(sid, SENDING)
            except CarrierError as exc:
                log_carrier_error(sid, exc, name)
                self._record(name, gate, failed=not exc.permanent)
                if not exc.fails_over or last:
                    return self._refused(claimed, job, exc, name)
                persist(self._writes.fail_over, sid, name, route[index + 1], exc)
                continue
            self._record(name, gate, failed=False)
            return self._accepted(claimed, carrier, sms, result)
        raise AssertionError("a route names one carrier or more")

    def _gate(self, name: str) -> Gate:
        return Gate.CLOSED if self._breakers is None else self._breakers.gate(name)

    def _record(self, name: str, gate: Gate, *, failed: bool) -> None:
        if self._breakers is not None:
            self._breakers.record(name, gate, failed)

    def _refused(self, claimed: Message, job: SendJob, exc: CarrierError, name: str) -> Outcome:
        """The last carrier tried, `name`, did not take the message (docs/reliability.md)."""
        sid = claimed.message_sid
        if exc.permanent:
            detail = exc.carrier_message or explanations.CARRIER_REFUSED
            persist(
                self._writes.settle,
                sid,
                SUBMIT_DONE,
                FAILED,
                detail,
                CARRIER_REJECTED,
                exc.code,
                carrier_name=name,
            )
            return Outcome(sid, FAILED)
        if job.receive_count >= self._max_attempts:
            detail = explanations.CARRIER_UNAVAILABLE_FINAL
            persist(
                self._writes.settle,
                sid,
                SUBMIT_DONE,
                FAILED,
                detail,
                CARRIER_UNAVAILABLE,
                exc.code,
                carrier_name=name,
            )
            return Outcome(sid, FAILED)
        detail = explanations.CARRIER_UNAVAILABLE_RETRYING
        persist(self._writes.settle, sid, SUBMIT_RETRYABLE, None, detail, carrier_name=name)
        raise TransientError(str(exc), retry_after=exc.retry_after) from exc

    def _accepted(
        self, claimed: Message, carrier: Carrier, sms: OutboundSms, result: Any
    ) -> Outcome:
        sid = claimed.message_sid
        stamp = iso_from_epoch(self._clock())
        accepted = {
            "CarrierSid": result.carrier_sid,
            "Carrier": carrier.name,
            "DateSent": stamp,
            # the receipts of a long message's other parts match it too
            **(
                {"CarrierPartSids": list(result.further_part_sids)}
                if result.further_part_sids
                else {}
            ),
        }
        settled = persist(
            self._claims.settle_claim,
            sid,
            SUBMIT_DONE,
            {
                "Status": SENT,
                "Timestamp": stamp,
                "CarrierSid": result.carrier_sid,
                "Carrier": carrier.name,
            },
            status=SENT,
            set_attributes=accepted,
        )
        if not settled:
            # The carrier's receipt came first and moved the message on: keep its status
            # and history, and record the acceptance beside them.
            persist(self._claims.record_accepted, sid, accepted)
        if self._receipts is not None and not receipts_name_message_sid(carrier, sms):
            # For receipts that will not name our MessageSid; the outcome comes first.
            persist(self._receipts.remember_carrier_sid, carrier.name, result.carrier_sid, sid)
        return Outcome(sid, SENT)

    def _opted_out(self, claimed: Message) -> bool:
        """Whether the recipient replied STOP to the message's account. A lookup that fails
        gives the claim back (nothing was submitted) for SQS to deliver the job again."""
        try:
            return self._opt_outs.is_opted_out(claimed.account_sid, claimed.to)
        except Exception as exc:
            sid = claimed.message_sid
            logger.warning("opt-out lookup failed", extra={"MessageSid": sid, "reason": str(exc)})
            persist(
                self._writes.settle, sid, SUBMIT_RETRYABLE, None, explanations.OPT_OUT_UNCHECKED
            )
            raise TransientError(str(exc)) from exc

    def _status_callback_url(self, sid: str, carrier: str) -> str | None:
        if not self._status_callback_base:
            return None
        base = self._status_callback_base.rstrip("/")
        return f"{base}/v1/Carriers/{carrier}/Receipts?{GATEWAY_SID_PARAM}={sid}"
