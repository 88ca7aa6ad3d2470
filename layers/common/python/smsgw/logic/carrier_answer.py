"""Recording what a carrier answered: the writes that must not be lost (the carrier cannot
be asked again), the claim's writes that record them (`ClaimWrites`), and the log line of
a failure (the message keeps only a sentence)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from smsgw import explanations
from smsgw.kernel.backoff import Backoff
from smsgw.logic.ports import Claims
from smsgw.models.carrier import CarrierError
from smsgw.models.message import (
    SENDING,
    SUBMIT_CLAIMED,
    SUBMIT_RETRYABLE,
    Status,
    SubmitState,
    iso_from_epoch,
)
from smsgw.observability import logger

PERSIST_ATTEMPTS = 3
PERSIST_BACKOFF = Backoff(base=0.2)
"""0.2 s, then 0.4 s."""


def persist(write, *args, **kwargs):
    """A write recording what the carrier answered. The carrier cannot be asked again, so a
    failed write (throttling beyond the SDK's own retries) is tried twice more before the
    record is left to the unknown-outcome policy."""
    for attempt in range(PERSIST_ATTEMPTS):
        try:
            return write(*args, **kwargs)
        except Exception:
            if attempt == PERSIST_ATTEMPTS - 1:
                raise
            time.sleep(PERSIST_BACKOFF.delay(attempt + 1))
    return None


def log_carrier_error(sid: str, exc: Exception, carrier: str) -> None:
    """The carrier's failure as it happened, for us; the message keeps only a sentence."""
    logger.warning(
        "carrier submission failed",
        extra={
            "MessageSid": sid,
            "Carrier": carrier,
            "CarrierErrorCode": getattr(exc, "code", None),
            "FailsOver": getattr(exc, "fails_over", False),
            "reason": str(exc),
        },
    )


class ClaimWrites:
    """The writes that end (or move on) a claim, each adding its event to the message."""

    def __init__(self, claims: Claims, clock: Callable[[], float] = time.time) -> None:
        self._claims = claims
        self._clock = clock

    def fail_over(self, sid: str, tried: str, following: str, failure: CarrierError | None) -> bool:
        """Record that `tried` definitely did not take the message (`failure`; None: its
        breaker is open and it was not asked) and that `following` is tried next, under
        the claim (the claim stays: nothing is final yet)."""
        event: dict[str, Any] = {
            "Status": SENDING,
            "Timestamp": iso_from_epoch(self._clock()),
            "Detail": explanations.CARRIER_FAILED_OVER
            if failure is not None
            else explanations.CARRIER_BREAKER_OPEN,
            "Carrier": tried,
        }
        if failure is not None and failure.code:
            event["CarrierErrorCode"] = failure.code
        return self._claims.settle_claim(
            sid,
            SUBMIT_CLAIMED,
            event,
            set_attributes={"Carrier": following},
            now=int(self._clock()),
        )

    def settle(
        self,
        sid: str,
        submit_state: SubmitState,
        status: Status | None,
        detail: str,
        error_code: int | None = None,
        carrier_code: str | None = None,
        *,
        carrier_name: str | None = None,
    ) -> bool:
        stamp = iso_from_epoch(self._clock())
        event: dict[str, Any] = {"Status": status or SENDING, "Timestamp": stamp, "Detail": detail}
        attributes: dict[str, Any] = {}
        if carrier_name:
            event["Carrier"] = carrier_name
            # An unknown outcome names the carrier that may hold the message
            # (reconciliation), a failure the one that refused it; a released claim none:
            # its next claim starts at the first carrier of the route again.
            if submit_state != SUBMIT_RETRYABLE:
                attributes["Carrier"] = carrier_name
        if error_code is not None:
            event["ErrorCode"] = error_code
            attributes |= {"ErrorCode": error_code, "ErrorMessage": detail, "DateFinal": stamp}
            if carrier_code:
                # on the event too: the Message resource shows its Events, not this attribute
                event["CarrierErrorCode"] = carrier_code
                attributes["CarrierErrorCode"] = carrier_code
        return self._claims.settle_claim(
            sid,
            submit_state,
            event,
            status=status,
            set_attributes=attributes,
            now=int(self._clock()),
        )
