"""The sender's side of the throughput limits (logic/rate_limits.py; docs/carriers.md,
"Rate limits"): when a job's message may be submitted, and how a job that must wait goes
back to SendQueue.

Before its message is claimed, a job without a turn books one at the first carrier of its
route that its breaker does not skip (one read of the message): a turn too far to sleep
for sends the job back to the queue holding it, and the message is not written at all.
After the claim, the carrier the route reaches paces the submission; a wait found only
then (another carrier of the route, a message the read did not find) gives the claim back
first. Either way the wait is a new job, so it never counts as one of the job's receives,
and the claim still decides that a message is submitted at most once.
"""

from __future__ import annotations

from collections.abc import Callable

from smsgw import explanations
from smsgw.errors import TransientError
from smsgw.logic.breaker import CircuitBreakers
from smsgw.logic.carrier_answer import ClaimWrites, persist
from smsgw.logic.ports import Claims, SendJobs
from smsgw.logic.rate_limits import Pace, RateLimits
from smsgw.models.message import QUEUED, SCHEDULED, SENDING, SUBMIT_RETRYABLE, Message
from smsgw.models.send_job import Outcome, Turn


class SendPacing:
    def __init__(
        self,
        limits: RateLimits,
        *,
        claims: Claims,
        queue: SendJobs,
        writes: ClaimWrites,
        route_for: Callable[[Message], tuple[str, ...]],
        breakers: CircuitBreakers | None = None,
    ) -> None:
        self._limits = limits
        self._claims = claims
        self._queue = queue
        self._writes = writes
        self._route_for = route_for
        self._breakers = breakers

    def before_claim(
        self, sid: str, due_by: float, held: Turn | None = None
    ) -> tuple[Turn | None, Outcome | None]:
        """Take the turn of a job that holds none, or holds a place in the line (`held`):
        (the turn, to hold through `pace`, and None), or (None, the outcome of a job sent
        back to wait in the queue)."""
        if held is not None:
            # back for its place: no read (the route's carrier is the place's)
            turn = self._limits.rejoin(held)
            pace = None if turn is None else self._limits.waiting(turn)
            if pace is None:
                return turn, None
            self._send_back(sid, pace)
            return None, Outcome(sid, QUEUED)
        if not self._limits.any_set():
            return None, None  # nothing to read the message for
        message = self._claims.get(sid)
        if message is None or not (
            message.status == QUEUED
            or (message.status == SCHEDULED and (message.deliver_at or 0) <= due_by)
        ):
            return None, None  # the claim decides what becomes of it
        route = self._route_for(message)
        carrier = next((n for n in route[:-1] if not self._skipped(n)), route[-1])
        turn = self._limits.book(carrier, message.sender or None)
        pace = None if turn is None else self._limits.waiting(turn)
        if pace is None:
            return turn, None
        self._send_back(sid, pace)
        return None, Outcome(sid, message.status)

    def pace(self, carrier: str, claimed: Message, held: Turn | None) -> Pace | None:
        """Wait for the limits of `carrier` (and of the message's number): None once the
        submission may go (after a short sleep), else how the job waits."""
        return self._limits.pace(carrier, claimed.sender or None, held)

    def wait_after_claim(self, claimed: Message, carrier: str, pace: Pace) -> Outcome:
        """The claim is given back (nothing was submitted) and the job queued again, to
        come back just before its turn."""
        sid = claimed.message_sid
        detail = explanations.RATE_LIMIT_WAIT
        persist(self._writes.settle, sid, SUBMIT_RETRYABLE, None, detail, carrier_name=carrier)
        self._send_back(sid, pace)
        return Outcome(sid, SENDING)

    def _send_back(self, sid: str, pace: Pace) -> None:
        try:
            self._queue.enqueue(sid, pace.delay_seconds, turn=pace.turn)
        except Exception as exc:  # the record's own retry brings it back
            raise TransientError(str(exc)) from exc

    def _skipped(self, carrier: str) -> bool:
        return self._breakers is not None and self._breakers.skips(carrier)
