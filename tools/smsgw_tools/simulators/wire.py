"""What the carrier simulator's HTTP handler needs of a carrier's wire format.

A wire (`twilio_wire.TwilioWire`, `vonage_wire.VonageWire`, `eum_wire.EumWire`) refuses a
request the carrier would refuse (credentials, missing or malformed fields), turns an
accepted request into the simulator's submission record (the same shape for all: E.164
`To`, `From`, `Body`, `StatusCallback`, `sid`) and gives the answers: accepted, server
error, throttled, a refusal of the message itself (its recipient opted out), and for
Vonage a `status` code in an HTTP 200.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

Submission = dict[str, Any]
Answer = tuple[int, dict[str, Any]]

E164 = re.compile(r"\+[1-9]\d{1,14}")


class Wire(Protocol):
    """What the simulator's HTTP handler needs of a carrier's wire format."""

    content_type: str
    """The Content-Type of the carrier's answers."""
    retry_after: bool
    """Whether the carrier's throttling answer carries Retry-After."""

    def refusal(self, form: dict[str, Any], authorized: bool) -> Answer | None: ...
    def submission(self, form: dict[str, Any]) -> Submission: ...
    def accepted(self, account_sid: str, submission: Submission) -> Answer: ...
    def server_error(self) -> Answer: ...
    def throttled(self) -> Answer: ...
    def status_refusal(self, status: int) -> Answer: ...
    def opted_out(self) -> Answer: ...
