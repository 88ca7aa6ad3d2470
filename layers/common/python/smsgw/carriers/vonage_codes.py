"""Vonage's codes: its receipt statuses, its receipts' error codes and its SMS API's
submission statuses, and what each means to the gateway (docs/carriers.md)."""

from __future__ import annotations

from smsgw.models.carrier import IGNORED

STATUS_MAP: dict[str, str] = {
    "accepted": "sent",
    "delivered": "delivered",
    "expired": "undelivered",
    "failed": "undelivered",
    "rejected": "failed",
    "buffered": IGNORED,
    "unknown": IGNORED,
}
"""DLR `status` → the product's receipt status; unlisted statuses are ignored.

`accepted` is the downstream carrier's acknowledgement (Twilio's `sent`); `expired` and
`failed` mean the carrier took the message and could not get it to the handset
(undelivered); `rejected` means the carrier refused it up front (failed). `unknown` says
nothing about the message, so it moves nothing."""

DLR_ERRORS: dict[int, str] = {
    1: "Unknown",
    2: "Absent Subscriber - Temporary",
    3: "Absent Subscriber - Permanent",
    4: "Call Barred by User",
    5: "Portability Error",
    6: "Anti-Spam Rejection",
    7: "Handset Busy",
    8: "Network Error",
    9: "Illegal Number",
    10: "Illegal Message",
    11: "Unroutable",
    12: "Destination Unreachable",
    13: "Subscriber Age Restriction",
    14: "Number Blocked by Carrier",
    15: "Pre-Paid Insufficient Funds",
    99: "General Error",
}
"""The DLR `err-code` names Vonage documents ("SMS Delivery Error Codes")."""

SUBMIT_STATUSES: dict[int, tuple[str, bool]] = {
    1: ("Throttled", False),
    2: ("Missing Parameters", True),
    3: ("Invalid Parameters", True),
    4: ("Invalid Credentials", False),
    5: ("Internal Error", False),
    6: ("Invalid Message", True),
    7: ("Number Barred", True),
    8: ("Partner Account Barred", False),
    9: ("Partner Quota Violation", False),
    10: ("Too Many Existing Binds", False),
    11: ("Account Not Enabled For HTTP", False),
    12: ("Message Too Long", True),
    14: ("Invalid Signature", False),
    15: ("Invalid Sender Address", True),
    22: ("Invalid Network Code", True),
    23: ("Invalid Callback Url", False),
    29: ("Non-Whitelisted Destination", True),
    32: ("Signature And API Secret Disallowed", False),
    33: ("Number De-activated", True),
}
"""SMS API response `status` → (meaning, permanent).

Permanent: the message itself is at fault (its number, text or sender), so resending it
unchanged fails the same way. Not permanent: throttling, Vonage's own faults and our account
or configuration (credentials, credit, a suspended account, our callback URL) — like
Twilio's 401, those are not the message's fault and clear once fixed. An undocumented
non-zero status counts as permanent: Vonage looked at the request and refused it."""

CARRIER_REFUSALS = frozenset({15, 22, 29})
"""Permanent statuses that are about Vonage and our account there, not the message: a
sender not provisioned (Invalid Sender Address), a destination network Vonage does not
serve (Invalid Network Code), a destination the account may not send to (Non-Whitelisted
Destination). Another carrier may take the same message (docs/carriers.md). A message of
which Vonage took some parts is never one of them."""
