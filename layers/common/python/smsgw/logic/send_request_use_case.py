"""Accepting a send request: the one use case behind the API's POST .../Sms and the raw
requests other services publish to SendQueue.

Both go through `SendRequests`: validation, the tenancy checks that apply, the opt-out
check and lease (logic/leases.py), the message built and stored (with its lease's change,
in one write, when it has a lease). The API's request is
then queued (and, with an Idempotency-Key, claimed first and its answer kept for 24 hours);
a raw request's MessageSid comes from its SQS message id, a broken one is stored rejected
instead of answered with an error, and the sender submits it in the same invocation.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smsgw import explanations
from smsgw.errors import ErrorCode, SmsGatewayError, ValidationError
from smsgw.ids import MESSAGE_PREFIX, derived_sid, is_well_formed, new_sid
from smsgw.kernel.scheduling import WAITING_KEYS, waits_in_table
from smsgw.logic.forward_targets import check_forward_target
from smsgw.logic.message_building import build_message, rejected_message
from smsgw.logic.ports import IdempotencyKeys, Messages, SendJobs, Tenants
from smsgw.logic.tenancy import check_can_send, owned_property
from smsgw.models.lease import Lease, MessageExists
from smsgw.models.message import (
    FAILED,
    QUEUED,
    SCHEDULED,
    Message,
    iso_from_epoch,
)
from smsgw.models.send_request import (
    SendRequest,
    parse_send_request,
)
from smsgw.models.tenant import Property
from smsgw.observability import Metric, emit, logger

if TYPE_CHECKING:  # the API imports leases only when it first sends (services.leasing)
    from smsgw.logic.leases import Leasing

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IDEMPOTENCY_LOCK_SECONDS = 30
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class SendLimits:
    max_text_characters: int = 1600
    allowed_webhook_networks: tuple = ()


def store_and_queue(messages: Messages, queue: SendJobs, message: Message, now: float) -> Message:
    """Store the message and queue it (a reply's SMS forward). Idempotent for one
    MessageSid: a second call finds the stored message and queues it again, which the
    sender's claim makes harmless.

    A message to be queued is stored with a recovery entry: if this function dies between
    the write and the queue send, the scheduler queues it a few minutes after it is due
    (kernel/scheduling.recovery_time; docs/reliability.md, "Where a crash can leave
    state behind"). A queue send that fails raises and leaves the message `queued`: no
    caller was told it failed, and the job that asked for it, delivered again, queues it
    (failing that, its recovery entry does)."""
    waiting = waits_in_table(int(message.deliver_at or 0), int(now))
    if not messages.create(message, wait_in_table=waiting):
        stored = messages.get(message.message_sid, consistent=True)
        assert stored is not None
        message = stored
    return queue_stored(messages, queue, message, now, fail_unqueued=False)


def queue_stored(
    messages: Messages,
    queue: SendJobs,
    message: Message,
    now: float,
    *,
    fail_unqueued: bool = True,
) -> Message:
    """Queue a stored message. Idempotent for one MessageSid: queueing it again is made
    harmless by the sender's claim. With `fail_unqueued` (the API's request), a queue send
    that fails marks the message `failed` before it raises."""
    if message.status in (QUEUED, SCHEDULED):
        delay = int(message.deliver_at or 0) - int(now)
        if not waits_in_table(int(message.deliver_at or 0), int(now)):
            try:
                queue.enqueue(message.message_sid, delay)
            except Exception:
                if not fail_unqueued:
                    raise
                # The caller gets a 500; the stored message must not wait forever for a
                # job that was never queued.
                messages.transition(
                    message.message_sid,
                    FAILED,
                    {
                        "Status": FAILED,
                        "Timestamp": iso_from_epoch(now),
                        "Detail": explanations.NOT_QUEUED,
                    },
                    set_attributes={
                        "ErrorCode": ErrorCode.INTERNAL_ERROR.number,
                        "ErrorMessage": explanations.NOT_QUEUED,
                        "DateFinal": iso_from_epoch(now),
                    },
                    # answered 500: the recovery entry must not send it after all
                    remove_attributes=WAITING_KEYS,
                )
                raise
        # A later message waits in the table; the scheduler queues it (kernel/scheduling.py).
    return message


@dataclass(frozen=True, slots=True)
class Accepted:
    """The API's answer to a send request: 200 and the Message, or a kept answer replayed
    for a repeated Idempotency-Key."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class SendRequests:
    """The send use case, with the stores it takes (services.send_requests for the API,
    the sender's Dispatcher for raw requests)."""

    tenants: Tenants
    messages: Messages
    queue: SendJobs
    limits: SendLimits
    leasing: Leasing | None = None
    """The opt-out check and leases; without it, neither (unit tests of other rules)."""
    idempotency: IdempotencyKeys | None = None
    """The API's Idempotency-Key records; needed only for a request that carries a key."""

    # --- the API ------------------------------------------------------------------------

    def accept(
        self,
        *,
        property_sid: str,
        account_sid: str,
        account_sms_enabled: bool,
        read_body: Callable[[], Any],
        idempotency_key: str | None = None,
        now: float | None = None,
    ) -> Accepted:
        """A send request from the API's caller: its property and the right to send are
        checked before the body is read (`read_body`: a 404 or 403 comes before a 400),
        then the request is validated, stored and queued."""
        prop = owned_property(self.tenants, property_sid, account_sid)
        check_can_send(prop, account_sms_enabled)
        body = read_body()
        now = time.time() if now is None else now
        request = parse_send_request(
            body,
            now=int(now),
            max_text_characters=self.limits.max_text_characters,
            allowed_webhook_networks=self.limits.allowed_webhook_networks,
            smart_encoding_default=prop.smart_encoding,
        )
        self._check_forward_target(request)
        logger.append_keys(PropertySid=prop.property_sid)
        if idempotency_key is None:
            message = self._store_and_queue(request, prop, new_sid(MESSAGE_PREFIX), now)
            logger.info(
                "message accepted",
                extra={"MessageSid": message.message_sid, "Status": message.status},
            )
            emit(Metric.MESSAGES_ACCEPTED)
            return Accepted(200, {"Message": message.to_resource()})
        return self._accept_once(idempotency_key, body, request, prop, now)

    def _accept_once(
        self, key: str, body: Any, request: SendRequest, prop: Property, now: float
    ) -> Accepted:
        """A request with an Idempotency-Key: done once per key and body; a repeat within
        24 hours gets the first answer, a different body or a repeat still in progress an
        error. A failed attempt gives the key back so that the client may retry."""
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
            raise ValidationError(
                ErrorCode.IDEMPOTENCY_KEY_INVALID,
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters.",
                "Idempotency-Key",
            )
        if self.idempotency is None:
            raise ValueError("an Idempotency-Key needs SendRequests.idempotency")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        body_hash = hashlib.sha256(canonical.encode()).hexdigest()
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        scope = f"{prop.account_sid}#{prop.property_sid}#{key_hash}"
        store = self.idempotency
        record = store.claim(
            scope,
            body_hash,
            new_sid(MESSAGE_PREFIX),
            now=int(now),
            ttl=IDEMPOTENCY_TTL_SECONDS,
            lock=IDEMPOTENCY_LOCK_SECONDS,
        )
        if not record.claimed:
            if record.body_hash != body_hash:
                raise SmsGatewayError(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "This Idempotency-Key was used with a different request body in the last "
                    "24 hours.",
                    "Idempotency-Key",
                )
            if record.response is None:
                raise SmsGatewayError(
                    ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS,
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    "Idempotency-Key",
                )
            return Accepted(
                record.status_code or 200, self._replayed(record.response), replayed=True
            )
        try:
            message = self._store_and_queue(request, prop, record.message_sid, now)
        except Exception:
            if not self._left_to_send(record.message_sid):
                store.release(scope)
            raise
        response = {"Message": message.to_resource()}
        store.complete(scope, 200, {"Message": {**response["Message"], "Text": None}})
        emit(Metric.MESSAGES_ACCEPTED)
        return Accepted(200, response)

    def _replayed(self, response: dict[str, Any]) -> dict[str, Any]:
        """A kept answer with the message's text as it is now: the record keeps no copy of
        the text, so that a redaction leaves none behind for 24 hours (docs/security.md)."""
        kept = response.get("Message")
        if not isinstance(kept, dict) or "MessageSid" not in kept:
            return response
        current = self.messages.get(kept["MessageSid"])
        text = current.text if current is not None else None
        redacted = current.redacted if current is not None else False
        return {**response, "Message": {**kept, "Text": text, "Redacted": redacted}}

    def _left_to_send(self, message_sid: str) -> bool:
        """Whether a keyed request that failed left its message to be sent all the same:
        stored and still queued or scheduled (SendQueue refused it and the `failed` write
        failed too, so its recovery entry will release it), or not known because this read
        failed as well. Its key is then kept, not given back: the customer's retry after
        the lock takes it over and finds this message, rather than making a second one
        that would be sent beside it (docs/reliability.md, "AWS faults")."""
        try:
            stored = self.messages.get(message_sid, consistent=True)
        except Exception:
            return True
        return stored is not None and stored.status in (QUEUED, SCHEDULED)

    def _check_forward_target(self, request: SendRequest) -> None:
        if self.leasing is not None:  # the pool comes with the leases
            check_forward_target(request, self.leasing.pool)

    def _store_and_queue(
        self, request: SendRequest, prop: Property, message_sid: str, now: float
    ) -> Message:
        message = self._store(request, prop, message_sid, now, "api")
        return queue_stored(self.messages, self.queue, message, now)

    def _store(
        self, request: SendRequest, prop: Property, message_sid: str, now: float, source: str
    ) -> Message:
        """The message stored, or the one stored already under this MessageSid (a retried
        request, a redelivered job). A leased send's message is written in one transaction
        with its lease's change, so a send that fails leaves the lease as it was."""
        wait = waits_in_table(request.deliver_at, int(now))

        def message_for(lease: Lease | None) -> Message:
            return build_message(request, prop, message_sid, now, source, lease)

        try:  # the opt-out check, and for a leased send its lease, written with its message
            lease = (
                self.leasing.prepare(
                    request,
                    prop.account_sid,
                    prop.property_sid,
                    message_sid,
                    now,
                    message=message_for,
                    wait_in_table=wait,
                )
                if self.leasing is not None
                else None
            )
        except MessageExists:
            return self._stored(message_sid)
        message = message_for(lease)
        if lease is None and not self.messages.create(message, wait_in_table=wait):
            return self._stored(message_sid)
        return message

    def _stored(self, message_sid: str) -> Message:
        stored = self.messages.get(message_sid, consistent=True)
        assert stored is not None
        return stored

    # --- raw requests on SendQueue --------------------------------------------------------

    def accept_raw(self, body_text: str, queue_message_id: str, now: float) -> Message:
        """A send request published straight to the queue by another service, stored (not
        queued: the sender submits it in the same invocation). Its MessageSid comes from
        the SQS message id, so a redelivery finds the same message; a request that breaks
        the contract is stored rejected, with its error. No caller is authenticated: the
        property is the one the request names, and the account is read for its switch."""
        try:
            body: Any = json.loads(body_text)
        except ValueError:
            body = None
        message_sid = derived_sid(MESSAGE_PREFIX, queue_message_id)
        stored = self.messages.get(message_sid, consistent=True)
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
            found = self.tenants.get_property(property_sid)
            if found is None:
                raise ValidationError(
                    ErrorCode.PROPERTY_NOT_FOUND, f"No property {property_sid}.", "PropertySid"
                )
            prop = found
            account = self.tenants.get_account(prop.account_sid)
            check_can_send(prop, bool(account and account.sms_enabled))
            request = parse_send_request(
                body,
                now=int(now),
                max_text_characters=self.limits.max_text_characters,
                allowed_webhook_networks=self.limits.allowed_webhook_networks,
                extra_fields=frozenset({"PropertySid"}),
                smart_encoding_default=prop.smart_encoding,
            )
            self._check_forward_target(request)
            return self._store(request, prop, message_sid, now, "sqs")
        except SmsGatewayError as error:
            message = rejected_message(
                body if isinstance(body, dict) else {},
                error,
                message_sid,
                prop,
                property_sid[:64],
                now,
            )
        if not self.messages.create(message):
            message = self.messages.get(message_sid, consistent=True) or message
        return message
