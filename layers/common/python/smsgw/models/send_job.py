"""A SendQueue record as the sender needs it, and what became of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smsgw.models.message import Message, Status

STALE_CLAIM_SECONDS = 60
"""Older than the sender's timeout (30 s in template.yaml), so no live invocation holds
such a claim; and shorter than SendQueue's visibility timeout (180 s), so the job of a
sender that died after its claim comes back only once the claim is stale."""


@dataclass(frozen=True, slots=True)
class Turn:
    """A time booked under a carrier's rate limit (logic/rate_limits.py), held by a job
    that waits for it in the queue."""

    carrier: str
    at_ms: int
    """Unix time, in milliseconds."""
    sender_only: bool = False
    """Only the sender number's own limit is booked: the carrier's is booked at that time."""
    firm: bool = False
    """A turn taken (`Next`); else a place in the line, when the turn may come."""
    rejoined: int = 0
    """How often the job came back for its place and joined the line again."""

    @property
    def taken(self) -> bool:
        """A turn of its own, submitted at that time; a place in the line is not."""
        return self.firm or self.sender_only


@dataclass(frozen=True, slots=True)
class SendJob:
    """One SendQueue record, as the sender needs it."""

    message_id: str
    body: str
    receive_count: int

    def queued(self) -> dict[str, Any] | None:
        """The body of a job the gateway queued (`{"MessageSid": …}`, with a `Turn` when
        it waits for one); None for a raw send request."""
        try:
            body = json.loads(self.body)
        except ValueError:
            return None
        if isinstance(body, dict) and "MessageSid" in body and set(body) <= {"MessageSid", "Turn"}:
            return body
        return None

    def turn(self) -> Turn | None:
        """The rate limit's turn this job holds, if any."""
        held = (self.queued() or {}).get("Turn")
        try:
            return Turn(
                str(held["Carrier"]),
                int(held["At"]),
                bool(held.get("SenderOnly")),
                bool(held.get("Firm")),
                int(held.get("Rejoined", 0)),
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            return None


def job_body(message_sid: str, turn: Turn | None = None) -> str:
    """A SendQueue job's body: the message, and the turn it holds when it waits for one."""
    body: dict[str, Any] = {"MessageSid": message_sid}
    if turn is not None:
        body["Turn"] = {"Carrier": turn.carrier, "At": turn.at_ms}
        if turn.sender_only:
            body["Turn"]["SenderOnly"] = True
        if turn.firm:
            body["Turn"]["Firm"] = True
        if turn.rejoined:
            body["Turn"]["Rejoined"] = turn.rejoined
    return json.dumps(body)


class JobOutcome(StrEnum):
    """What became of a job that has no message whose status could say it."""

    MISSING = "missing"
    """The job names a MessageSid the table does not hold."""


@dataclass(frozen=True, slots=True)
class Outcome:
    message_sid: str | None
    status: Status | JobOutcome | str
    """The message's status once the job was handled (as stored), or a JobOutcome."""
    retry: bool = False


@dataclass(frozen=True, slots=True)
class ClaimAttempt:
    """What a claim on a message found (dal.claim_store.ClaimStore.claim)."""

    claimed: Message | None
    """The message, now claimed by this job for one submission; None when it was not."""
    current: Message | None = None
    """Else the message as it stands, read by the refused write itself (no second read);
    None when there is no such message."""
    submit_state: str | None = None
    """Else its SubmitState."""
