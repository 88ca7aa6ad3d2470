"""Unknown-outcome reconciliation (docs/reliability.md): messages left `sending` with
SubmitState `unknown` or `claimed` past a grace period are looked up at the carrier where
the carrier can look them up; none is ever resent.

Found → `sent` with the carrier's id (`sent` is no receipt: no webhook). Settled meanwhile
(a receipt moved it) → out of the index. Not found → asked again on later ticks until
`give_up_seconds`, then out of the index with an event saying so, left `sending` for the
operator (the `MessagesUnreconciled` metric counts them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsgw import explanations
from smsgw.kernel.scheduling import SHARDS
from smsgw.models.carrier import CarrierError, OutboundSms
from smsgw.models.message import SENDING, SENT, SUBMIT_CLAIMED, SUBMIT_UNKNOWN, iso_from_epoch

GRACE_SECONDS = 300
"""A claim this old has ended one way or another (the sender's timeout is 30 s)."""
GIVE_UP_SECONDS = 24 * 3600
MAX_PER_RUN = 200


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    found: int = 0
    settled: int = 0
    """Already moved on (a receipt came): only taken out of the index."""
    pending: int = 0
    given_up: int = 0


class Reconciler:
    def __init__(
        self,
        *,
        claims: Any,
        carrier_for: Callable[[Any], Any],
        outbound: Callable[[Any, Any], OutboundSms],
        receipts: Any = None,
        grace_seconds: int = GRACE_SECONDS,
        give_up_seconds: int = GIVE_UP_SECONDS,
        max_per_run: int = MAX_PER_RUN,
    ) -> None:
        """`carrier_for(message)` is the adapter that sent it (raises CarrierError when not
        configured); `outbound(message, carrier)` the OutboundSms it was sent as."""
        self._claims = claims
        self._carrier_for = carrier_for
        self._outbound = outbound
        self._receipts = receipts
        self._grace = grace_seconds
        self._give_up = give_up_seconds
        self._max = max_per_run

    def run(self, now: int) -> ReconcileResult:
        """One pass over the unsettled index; at most `max_per_run` lookups."""
        counts = {"found": 0, "settled": 0, "pending": 0, "given_up": 0}
        seen = 0
        for shard in range(SHARDS):
            for sid, claimed_at in self._claims.unsettled(shard, now - self._grace):
                if seen >= self._max:
                    return ReconcileResult(**counts)
                seen += 1
                counts[self._one(sid, claimed_at, now)] += 1
        return ReconcileResult(**counts)

    def _one(self, sid: str, claimed_at: int, now: int) -> str:
        found = self._claims.get_submit_state(sid)
        if found is None:
            return "settled"
        message, submit_state = found
        if message.status != SENDING or submit_state not in (SUBMIT_UNKNOWN, SUBMIT_CLAIMED):
            self._claims.forget_unsettled(sid)
            return "settled"
        result = None
        try:
            carrier = self._carrier_for(message)
            reconcile = getattr(carrier, "reconcile", None)
            if reconcile is not None:
                result = reconcile(self._outbound(message, carrier), float(claimed_at))
        except CarrierError:
            return "pending"
        stamp = iso_from_epoch(now)
        if result is not None:
            detail = explanations.FOUND_BY_RECONCILIATION
            event = {"Status": SENT, "Timestamp": stamp, "CarrierSid": result.carrier_sid}
            attributes = {
                "CarrierSid": result.carrier_sid,
                "Carrier": carrier.name,
                "DateSent": stamp,
            }
            reconciled = self._claims.reconciled(sid, event | {"Detail": detail}, attributes)
            if reconciled and self._receipts is not None:
                self._receipts.remember_carrier_sid(carrier.name, result.carrier_sid, sid)
            return "found"
        if now - claimed_at < self._give_up:
            return "pending"
        self._claims.forget_unsettled(
            sid,
            {
                "Status": SENDING,
                "Timestamp": stamp,
                "Detail": explanations.NOT_FOUND_BY_RECONCILIATION,
            },
        )
        return "given_up"
