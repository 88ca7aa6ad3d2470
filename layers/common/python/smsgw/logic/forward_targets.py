"""Where replies may be forwarded by SMS: never somewhere the forward comes back from.

Every hop of a forward is a billed SMS. A forward to the message's own recipient is
refused by the request's validation (models/send_request.py); a forward to one of the
gateway's own pool numbers needs the pool, so it is refused here, before anything is
stored (docs/leases.md, "Forwards that would loop"). An SMS to a pool number arrives
back as a reply on that number and would be forwarded by that lease's options: two
leases forwarding to each other's numbers would bounce one reply forever.
"""

from __future__ import annotations

from typing import Protocol

from smsgw.errors import ErrorCode, ValidationError
from smsgw.models.send_request import SendRequest


class PoolMembers(Protocol):
    def contains(self, number: str) -> bool: ...


def check_forward_target(request: SendRequest, pool: PoolMembers) -> None:
    """Raises FORWARD_SMS_LOOP when the request's ForwardToSms is a pool number."""
    options = request.response_options
    target = options.forward_to_sms if options else None
    if target and pool.contains(target):
        raise ValidationError(
            ErrorCode.FORWARD_SMS_LOOP,
            f"ForwardToSms {target} is one of this gateway's own numbers: a forward sent "
            "there would arrive as a reply and be forwarded again. Forward to another number.",
            "ForwardToSms",
        )
