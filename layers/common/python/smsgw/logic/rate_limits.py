"""Throughput limits per carrier and per sender number (docs/carriers.md, "Rate limits"),
held by every concurrent sender through the table.

A limit of R messages a second spaces the carrier's submissions 1/R apart. Each
submission takes a turn: the next free time of the carrier's limit, taken by one atomic
conditional write, so concurrent senders never take the same time. A turn is taken only
when it is within `MAX_SLEEP_SECONDS`, and waited for in the invocation. When the next
turn is further, the job takes none: it joins a line, whose tail estimates when its turn
may come, and goes back to the queue with a delay that brings it back just before then,
to take a turn if one is near. A job that comes back early (turns were taken by others
meanwhile) joins the line again once, and after that takes a turn however far (so at
most three trips through the queue, besides one per 15 minutes of a long wait): no turn
is left unused because its job came back late (docs/decisions.md, "Rate limits").

A sender number's own limit is booked first, and may be booked ahead (no other number
waits for it); the carrier's is booked only when the number's turn has come, never
ahead of now, so a number waiting for its turn never holds up the carrier for the
others. When the carrier is busy past the number's turn, the number's turn is moved
there.

A limit never causes a submission: it only delays one, and the claim still decides that
a message is submitted at most once. A failing read or write of the limits is logged and
the message sent as if there were no limit (the carrier's own 429 is then a transient
error, retried as before).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from smsgw.errors import ErrorCode, ValidationError
from smsgw.kernel.addresses import parse_e164
from smsgw.models.send_job import Turn
from smsgw.observability import logger

MAX_SLEEP_SECONDS = 2.0
"""A turn this close is waited for in the invocation; a later one in the queue."""
LEAD_SECONDS = 1
"""A job waiting in the queue comes back this much before its turn (SQS delays are whole
seconds, and a poller takes a moment to receive it)."""
MAX_DELAY_SECONDS = 900
"""SQS's longest delay: a turn further away takes one more trip through the queue."""
TOLERANCE_MS = 250
"""A held turn this late is still used, and two limits' turns this far apart make one."""
MAX_REJOINS = 1
"""How often a job that comes back for its place in the line and finds no turn near joins
the line again; the next time it takes a turn however far."""
BOOKING_ROUNDS = 3
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]{1,11}")


def limit_key(carrier: str, sender: str | None = None) -> str:
    """The key of a carrier's limit, or of one of its sender numbers'."""
    return f"{carrier}#{sender}" if sender else carrier


@dataclass(frozen=True, slots=True)
class Pace:
    """A submission that waits in the queue: for `delay_seconds`, holding `turn`."""

    delay_seconds: int
    turn: Turn


class RateStore(Protocol):
    """The limits' items (smsgw.dal.rate_store.RateStore)."""

    def current(self) -> dict[str, float]:
        """Limit key (`limit_key`) → messages a second, as read lately."""
        ...

    def turn(
        self, key: str, interval_ms: int, now_ms: int, latest_ms: int | None = None
    ) -> tuple[int, bool] | None:
        """(the next turn of `key`'s limit, True), taken, when it is at or before
        `latest_ms`; else (a place at the tail of the line, False), no turn taken. None
        when `key` has no limit."""
        ...


def reserve(store: RateStore, key: str, interval_ms: int, not_before_ms: int) -> int | None:
    """Book the earliest free turn of `key`'s limit at or after `not_before_ms`, however
    far (the next one `interval_ms` later): the turn (Unix ms). None when `key` has no
    limit."""
    booked = store.turn(key, interval_ms, not_before_ms)
    return None if booked is None else booked[0]


def interval_ms(rate: float) -> int:
    """The time between two turns of a limit of `rate` messages a second (rounded up, so
    the limit is never exceeded)."""
    return max(1, math.ceil(1000 / rate))


class RateLimits:
    def __init__(
        self,
        store: RateStore,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sleep = sleep

    def pace(self, carrier: str, sender: str | None, held: Turn | None = None) -> Pace | None:
        """Wait for a turn to submit to `carrier` from `sender`: None once the submission
        may go (after sleeping until its turn, at most MAX_SLEEP_SECONDS), else how it
        waits in the queue. `held`: the turn the job booked before it went back."""
        try:
            return self._take_turn(carrier, *self._intervals(carrier, sender), held)
        except Exception as exc:
            logger.warning("rate limit failed", extra={"Carrier": carrier, "reason": str(exc)})
            return None

    def any_set(self) -> bool:
        """Whether any limit is set (as read lately); False when they cannot be read."""
        try:
            return bool(self._store.current())
        except Exception as exc:
            logger.warning("rate limit failed", extra={"reason": str(exc)})
            return False

    def book(self, carrier: str, sender: str | None) -> Turn | None:
        """Book the first turn of a submission to `carrier` from `sender` before its
        message is claimed (its number's turn when the number has a limit, else the
        carrier's), for the job to hold through `pace`. None when no limit applies."""
        try:
            if not self._store.current():
                return None
            return self._first_turn(carrier, *self._intervals(carrier, sender), self._now())
        except Exception as exc:
            logger.warning("rate limit failed", extra={"Carrier": carrier, "reason": str(exc)})
            return None

    def rejoin(self, held: Turn) -> Turn | None:
        """A job back for its place in the line `held`, before its message is claimed: a
        turn taken (to hold through `pace`), or the place it waits for next (`waiting`).
        None when the carrier has no limit any more."""
        try:
            now = self._now()
            if held.at_ms - now > MAX_SLEEP_SECONDS * 1000:
                return held  # back early, or 15 minutes of a longer wait
            carrier_interval = self._intervals(held.carrier, None)[0]
            if carrier_interval is None:
                return None
            return self._carrier_turn(held.carrier, carrier_interval, now, held)
        except Exception as exc:
            logger.warning("rate limit failed", extra={"Carrier": held.carrier, "reason": str(exc)})
            return None

    def waiting(self, turn: Turn) -> Pace | None:
        """How a job holding `turn` waits in the queue; None when it is a turn close
        enough to be slept for."""
        now = self._now()
        if not turn.taken or turn.at_ms - now > MAX_SLEEP_SECONDS * 1000:
            return Pace(_delay(turn.at_ms, now), turn)
        return None

    def _intervals(
        self, carrier: str, sender: str | None
    ) -> tuple[int | None, str | None, int | None]:
        """(the carrier's interval, the number's limit key, its interval); None: no limit."""
        limits = self._store.current()
        own = limit_key(carrier, sender) if sender else None
        keys = {
            key: interval_ms(limits[key])
            for key in (own, carrier)
            if key and limits.get(key, 0) > 0
        }
        return keys.get(carrier), own, keys.get(own or "")

    def _first_turn(
        self,
        carrier: str,
        carrier_interval: int | None,
        own: str | None,
        own_interval: int | None,
        now: int,
        held: Turn | None = None,
    ) -> Turn | None:
        if own is not None and own_interval is not None:
            booked = reserve(self._store, own, own_interval, now)
            return Turn(carrier, now if booked is None else booked, sender_only=True)
        if carrier_interval is not None:
            return self._carrier_turn(carrier, carrier_interval, now, held)
        return None

    def _carrier_turn(
        self, carrier: str, interval: int, now: int, held: Turn | None
    ) -> Turn | None:
        """The carrier's next turn when it is near, else a place in the line; for a job
        back for its place a second time (`MAX_REJOINS`), its next turn however far."""
        rejoined = 0 if held is None else held.rejoined + 1
        near = now + int(MAX_SLEEP_SECONDS * 1000)
        booked = self._store.turn(carrier, interval, now, near if rejoined <= MAX_REJOINS else None)
        if booked is None:
            return None
        at, taken = booked
        return Turn(carrier, at, firm=taken, rejoined=rejoined)

    def _take_turn(
        self,
        carrier: str,
        carrier_interval: int | None,
        own: str | None,
        own_interval: int | None,
        held: Turn | None,
    ) -> Pace | None:
        if carrier_interval is None and own_interval is None:
            return None
        now = self._now()
        ours = held if held is not None and held.carrier == carrier else None
        if ours is not None and ours.taken and ours.at_ms >= now - TOLERANCE_MS:
            turn: Turn | None = ours
        elif ours is not None and ours.at_ms - now > MAX_SLEEP_SECONDS * 1000:
            return Pace(_delay(ours.at_ms, now), ours)  # a place still far
        else:
            turn = self._first_turn(carrier, carrier_interval, own, own_interval, now, ours)
        if turn is None:
            return None
        for _ in range(BOOKING_ROUNDS):
            if not turn.taken or turn.at_ms - now > MAX_SLEEP_SECONDS * 1000:
                return Pace(_delay(turn.at_ms, now), turn)
            self._wait_until(turn.at_ms, now)
            if not turn.sender_only or carrier_interval is None:
                return None
            # the number's turn has come: the carrier's next one, not before now
            now = self._now()
            booked = reserve(self._store, carrier, carrier_interval, now)
            if booked is None:
                return None
            turn = Turn(carrier, booked, firm=True)
            if own is None or own_interval is None or booked - now <= TOLERANCE_MS:
                continue
            # the carrier is busy past the number's turn: move the number's turn there
            moved = reserve(self._store, own, own_interval, booked)
            if moved is not None and moved - booked > TOLERANCE_MS:
                turn = Turn(carrier, moved, sender_only=True)  # the carrier's turn is lost
        return Pace(_delay(turn.at_ms, now), turn)

    def _now(self) -> int:
        return int(self._clock() * 1000)

    def _wait_until(self, at_ms: int, now_ms: int) -> None:
        if at_ms > now_ms:
            self._sleep((at_ms - now_ms) / 1000)


def _delay(at_ms: int, now_ms: int) -> int:
    return max(1, min(MAX_DELAY_SECONDS, (at_ms - now_ms) // 1000 - LEAD_SECONDS))


MAX_RATE = 1000.0
"""Messages a second: one turn a millisecond, the finest `Next` holds."""


def checked_limit(
    carrier: str, rate: str | float, sender: str | None, known: tuple[str, ...]
) -> tuple[str, float, str | None]:
    """A limit as stored: a carrier of `known`, a rate above 0 and at most MAX_RATE
    messages a second, and a sender number (E.164, normalised) or sender ID, or None.
    Raises ValidationError otherwise."""
    name = carrier.strip().lower()
    if name not in known:
        raise ValidationError(
            ErrorCode.RATE_LIMIT_INVALID,
            f"Carrier {carrier!r} is not one of {', '.join(known)}.",
            "Carrier",
        )
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= MAX_RATE:
        raise ValidationError(
            ErrorCode.RATE_LIMIT_INVALID,
            f"A rate is messages a second, above 0 and at most {MAX_RATE:g}; {rate!r} is not.",
            "Rate",
        )
    return name, value, _checked_sender(sender)


def _checked_sender(sender: str | None) -> str | None:
    if sender is None:
        return None
    value = sender.strip()
    if value.startswith("+"):
        return parse_e164(value, "Sender", ErrorCode.RATE_LIMIT_INVALID)
    if _SENDER_ID.fullmatch(value):
        return value
    raise ValidationError(
        ErrorCode.RATE_LIMIT_INVALID,
        "Sender must be a phone number in E.164 format (e.g. +14155550100) or an alphanumeric "
        f"sender ID of 1 to 11 letters and digits; {sender!r} is neither.",
        "Sender",
    )
