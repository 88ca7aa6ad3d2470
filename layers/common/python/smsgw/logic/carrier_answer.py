"""Recording what a carrier answered: the writes that must not be lost (the carrier cannot
be asked again), and the log line of a failure (the message keeps only a sentence)."""

from __future__ import annotations

import time

from smsgw.kernel.backoff import Backoff
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
