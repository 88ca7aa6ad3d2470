"""Carrier delivery receipts: verify, map, apply forward-only.

The carrier gets its answer after one conditional write (plus a lookup when the receipt
does not name our MessageSid). The customer's receipt webhook is not queued here: the
write that makes the message final is on the table's stream, which drives the notifier
(logic/outbox.py), so the webhook cannot be lost between the write and a queue send.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from smsgw import explanations
from smsgw.errors import ErrorCode, ForbiddenError, ValidationError
from smsgw.ids import is_well_formed
from smsgw.logic.ports import Carrier
from smsgw.models.carrier import IGNORED, CallbackRejectedError, CallbackRequest, Receipt
from smsgw.models.message import (
    DELIVERED,
    FAILED,
    FINAL_STATUSES,
    SENT,
    UNDELIVERED,
)

# Message error codes (docs/errors.md, "Message errors").
CARRIER_UNDELIVERED = 30003
CARRIER_FAILED = 30004

RECEIPT_STATUSES = (SENT, DELIVERED, UNDELIVERED, FAILED)


class ReceiptResult(StrEnum):
    """What a carrier receipt did to its message."""

    APPLIED = "applied"
    """The status moved."""
    RECORDED = "recorded"
    """Late or duplicate: appended to the history only."""
    IGNORED = IGNORED
    """An intermediate carrier status."""
    UNMATCHED = "unmatched"
    """No such message: stored aside."""


class ReceiptStoreLike(Protocol):
    def message_sid_for(self, carrier: str, carrier_sid: str) -> str | None: ...
    def store_unmatched(
        self, carrier: str, receipt: Receipt, raw_status: str, received_at: str, now: float
    ) -> None: ...
    def apply(
        self,
        message_sid: str,
        carrier: str,
        carrier_sid: str,
        status: str,
        event: dict[str, Any],
        attributes: dict[str, Any],
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    result: ReceiptResult
    message_sid: str | None = None
    status: str | None = None


def message_error(receipt: Receipt) -> tuple[int | None, str | None]:
    """The product's ErrorCode and ErrorMessage for a receipt's final status."""
    carrier_code = f" (carrier error {receipt.error_code})" if receipt.error_code else ""
    if receipt.status == UNDELIVERED:
        return CARRIER_UNDELIVERED, receipt.error_message or (
            explanations.CARRIER_UNDELIVERED.format(carrier_code=carrier_code)
        )
    if receipt.status == FAILED:
        return CARRIER_FAILED, receipt.error_message or (
            explanations.CARRIER_FAILED.format(carrier_code=carrier_code)
        )
    return None, None


def verify_callback(carrier: Carrier, request: CallbackRequest) -> None:
    """Every carrier callback (receipt or reply) passes here first: ForbiddenError, and
    nothing stored, without the carrier's valid signature for the URL it called."""
    if not carrier.verify(request):
        raise ForbiddenError(
            ErrorCode.CALLBACK_SIGNATURE_INVALID,
            "The callback does not carry a valid carrier signature for this URL.",
            None,
        )


class ReceiptProcessor:
    def __init__(self, *, carrier: Carrier, store: ReceiptStoreLike) -> None:
        self._carrier = carrier
        self._store = store

    def handle(self, request: CallbackRequest, received_at: str, now: float) -> ReceiptOutcome:
        """Verify and apply one carrier callback received at `received_at` (ISO time).

        Raises ForbiddenError for a callback without the carrier's valid signature (nothing
        is stored) and ValidationError for a signed one that is not a receipt.
        """
        verify_callback(self._carrier, request)
        try:
            receipt = self._carrier.parse_receipt(request)
        except CallbackRejectedError as exc:
            raise ValidationError(ErrorCode.RECEIPT_INVALID, str(exc), None) from exc
        if receipt.status not in RECEIPT_STATUSES:
            return ReceiptOutcome(ReceiptResult.IGNORED)
        carrier = self._carrier.name
        raw_status = receipt.carrier_status
        event: dict[str, Any] = {
            "Timestamp": received_at,
            "Source": "receipt",
            "CarrierStatus": raw_status,
            "CarrierSid": receipt.carrier_sid,
        }
        if receipt.error_code is not None:
            event["CarrierErrorCode"] = receipt.error_code
        attributes = self._attributes(receipt, received_at)
        applied = None
        for sid in self._candidates(receipt):
            applied = self._store.apply(
                sid, carrier, receipt.carrier_sid, receipt.status, event, attributes
            )
            if applied is not None:
                break
        if applied is None:
            self._store.store_unmatched(carrier, receipt, raw_status, received_at, now)
            return ReceiptOutcome(ReceiptResult.UNMATCHED, receipt.message_sid)
        message = applied.message
        return ReceiptOutcome(
            ReceiptResult.APPLIED if applied.changed else ReceiptResult.RECORDED,
            message.message_sid,
            message.status,
        )

    def _candidates(self, receipt: Receipt):
        """Our MessageSid from the callback URL first; else (or if it does not match the
        carrier's id) the carrier-id lookup."""
        tried = None
        if receipt.message_sid and is_well_formed(receipt.message_sid):
            tried = receipt.message_sid
            yield tried
        looked_up = self._store.message_sid_for(self._carrier.name, receipt.carrier_sid)
        if looked_up and looked_up != tried:
            yield looked_up

    @staticmethod
    def _attributes(receipt: Receipt, received_at: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if receipt.status in FINAL_STATUSES:
            attributes["DateFinal"] = received_at
        error_code, error_message = message_error(receipt)
        if error_code is not None:
            attributes["ErrorCode"] = error_code
            attributes["ErrorMessage"] = error_message
            if receipt.error_code is not None:
                attributes["CarrierErrorCode"] = str(receipt.error_code)
        return attributes
