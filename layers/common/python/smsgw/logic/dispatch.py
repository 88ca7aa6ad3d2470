"""The sender's work: turn a SendQueue record into exactly one carrier submission.

Policy for each outcome (docs/reliability.md):
  accepted            -> sent, with the carrier's id
  refused, permanent  -> failed, with the carrier's error
  refused, transient  -> the claim is released and the record retried by SQS; on the last
                         attempt the message is failed instead (nothing waits in limbo)
  outcome unknown     -> stays `sending` with SubmitState=unknown, never resent blindly
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from smsgw.carriers.base import Carrier, CarrierError, OutboundSms, OutcomeUnknownError
from smsgw.dal.messages import (
    SUBMIT_DONE,
    SUBMIT_RETRYABLE,
    SUBMIT_UNKNOWN,
    ClaimStore,
)
from smsgw.dal.queue import SendQueue
from smsgw.dal.tenants import Property, TenantStore
from smsgw.errors import (
    ErrorCode,
    SmsGatewayError,
    TransientError,
    ValidationError,
)
from smsgw.ids import MESSAGE_PREFIX, derived_sid, is_well_formed
from smsgw.logic.send import SendLimits, build_message, check_can_send, rejected_message
from smsgw.models.message import (
    FAILED,
    QUEUED,
    SCHEDULED,
    SENDING,
    SENT,
    Message,
    iso_from_epoch,
)
from smsgw.models.send import parse_send_request

# Message error codes (docs/errors.md, "Message errors").
CARRIER_REJECTED = 30001
CARRIER_UNAVAILABLE = 30002

# A job scheduled this close to now is sent rather than put back on the queue.
DUE_TOLERANCE_SECONDS = 1


@dataclass(frozen=True, slots=True)
class SendJob:
    """One SendQueue record, as the sender needs it."""

    message_id: str
    body: str
    receive_count: int


@dataclass(frozen=True, slots=True)
class Outcome:
    message_sid: str | None
    status: str
    retry: bool = False


class Dispatcher:
    def __init__(
        self,
        *,
        claims: ClaimStore,
        tenants: TenantStore,
        queue: SendQueue,
        carrier: Carrier,
        limits: SendLimits,
        max_attempts: int = 5,
        clock=time.time,
    ) -> None:
        self._claims = claims
        self._tenants = tenants
        self._queue = queue
        self._carrier = carrier
        self._limits = limits
        self._max_attempts = max_attempts
        self._clock = clock

    def handle(self, job: SendJob) -> Outcome:
        """Process one record. Raises TransientError when SQS should deliver it again."""
        now = self._clock()
        message = self._resolve(job, now)
        if message is None:
            return Outcome(None, "missing")
        if message.status not in (QUEUED, SCHEDULED, SENDING):
            return Outcome(message.message_sid, message.status)
        if (
            message.status in (QUEUED, SCHEDULED)
            and (message.deliver_at or 0) > now + DUE_TOLERANCE_SECONDS
        ):
            # Not due yet (a raw request with a Schedule): a delayed job comes back for it.
            self._queue.enqueue(message.message_sid, int((message.deliver_at or 0) - now))
            return Outcome(message.message_sid, message.status)
        return self._submit(message, job, now)

    def _resolve(self, job: SendJob, now: float) -> Message | None:
        try:
            body = json.loads(job.body)
        except ValueError:
            body = None
        if isinstance(body, dict) and set(body) == {"MessageSid"}:
            sid = body["MessageSid"]
            if isinstance(sid, str) and is_well_formed(sid):
                return self._claims.get(sid, consistent=True)
            return None
        return self._accept_raw(body, job, now)

    def _accept_raw(self, body: Any, job: SendJob, now: float) -> Message:
        """A send request published straight to the queue by another service. Its
        MessageSid comes from the SQS message id, so a redelivery finds the same message."""
        message_sid = derived_sid(MESSAGE_PREFIX, job.message_id)
        stored = self._claims.get(message_sid, consistent=True)
        if stored is not None:
            return stored
        prop: Property | None = None
        property_sid = ""
        try:
            if not isinstance(body, dict):
                raise ValidationError(
                    ErrorCode.INVALID_JSON, "The queue message is not a JSON object.", None
                )
            property_sid = body.get("PropertySid")
            if not isinstance(property_sid, str) or not is_well_formed(property_sid):
                property_sid = property_sid if isinstance(property_sid, str) else ""
                raise ValidationError(
                    ErrorCode.PROPERTY_NOT_FOUND, "PropertySid is required.", "PropertySid"
                )
            found = self._tenants.get_property(property_sid)
            if found is None:
                raise ValidationError(
                    ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.", "PropertySid"
                )
            prop = found
            account = self._tenants.get_account(prop.account_sid)
            check_can_send(prop, bool(account and account.sms_enabled))
            request = parse_send_request(
                body,
                now=int(now),
                max_text_characters=self._limits.max_text_characters,
                allowed_webhook_networks=self._limits.allowed_webhook_networks,
                extra_fields=frozenset({"PropertySid"}),
            )
            message = build_message(request, prop, message_sid, now, "sqs")
        except SmsGatewayError as error:
            message = rejected_message(
                body if isinstance(body, dict) else {},
                error,
                message_sid,
                prop,
                property_sid[:64],
                now,
            )
        if not self._claims.create(message):
            message = self._claims.get(message_sid, consistent=True) or message
        return message

    def _submit(self, message: Message, job: SendJob, now: float) -> Outcome:
        sid = message.message_sid
        claimed = self._claims.claim(
            sid, {"Status": SENDING, "Timestamp": iso_from_epoch(now)}, int(now)
        )
        if claimed is None:
            current = self._claims.get(sid, consistent=True)
            return Outcome(sid, current.status if current else "missing")
        sms = OutboundSms(
            message_sid=sid, sender=claimed.sender or "", to=claimed.to, text=claimed.text
        )
        try:
            result = self._carrier.submit(sms)
        except OutcomeUnknownError as exc:
            self._settle(sid, SUBMIT_UNKNOWN, None, f"carrier outcome unknown: {exc}")
            return Outcome(sid, SENDING)
        except CarrierError as exc:
            if exc.permanent:
                self._settle(sid, SUBMIT_DONE, FAILED, str(exc), CARRIER_REJECTED, exc.code)
                return Outcome(sid, FAILED)
            if job.receive_count >= self._max_attempts:
                self._settle(
                    sid,
                    SUBMIT_DONE,
                    FAILED,
                    f"carrier unavailable: {exc}",
                    CARRIER_UNAVAILABLE,
                    exc.code,
                )
                return Outcome(sid, FAILED)
            self._settle(sid, SUBMIT_RETRYABLE, None, f"carrier unavailable, will retry: {exc}")
            raise TransientError(str(exc)) from exc
        stamp = iso_from_epoch(self._clock())
        self._claims.settle_claim(
            sid,
            SUBMIT_DONE,
            {"Status": SENT, "Timestamp": stamp, "CarrierSid": result.carrier_sid},
            status=SENT,
            set_attributes={
                "CarrierSid": result.carrier_sid,
                "Carrier": self._carrier.name,
                "DateSent": stamp,
            },
        )
        return Outcome(sid, SENT)

    def _settle(
        self,
        sid: str,
        submit_state: str,
        status: str | None,
        detail: str,
        error_code: int | None = None,
        carrier_code: str | None = None,
    ) -> None:
        stamp = iso_from_epoch(self._clock())
        event: dict[str, Any] = {"Status": status or SENDING, "Timestamp": stamp, "Detail": detail}
        attributes: dict[str, Any] = {}
        if error_code is not None:
            event["ErrorCode"] = error_code
            attributes = {"ErrorCode": error_code, "ErrorMessage": detail, "DateFinal": stamp}
            if carrier_code:
                attributes["CarrierErrorCode"] = carrier_code
        self._claims.settle_claim(
            sid, submit_state, event, status=status, set_attributes=attributes
        )
