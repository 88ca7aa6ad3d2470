"""A SendQueue record as the sender needs it, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smsgw.models.message import Status

STALE_CLAIM_SECONDS = 60
"""Older than the sender's timeout (30 s in template.yaml), so no live invocation holds
such a claim; and shorter than SendQueue's visibility timeout (180 s), so the job of a
sender that died after its claim comes back only once the claim is stale."""


@dataclass(frozen=True, slots=True)
class SendJob:
    """One SendQueue record, as the sender needs it."""

    message_id: str
    body: str
    receive_count: int


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
