"""The sentences customers read where something went wrong: a message's `Events[].Detail`
and `ErrorMessage`, the receipt webhook's payload, and the records kept of webhook attempts
and reply forwards. One sentence per cause, stable (docs/errors.md); never an exception's
text, which goes to the logs with the MessageSid instead.

Messages stored before these sentences keep their old texts; `public_text` reads the ones
that could carry an exception's text as the sentence for their cause.
"""

from __future__ import annotations

# The sender (logic/dispatch.py): the carrier's answer to a submission.
CARRIER_TIMED_OUT = "The carrier did not answer in time; the message was not sent again."
CARRIER_CONNECTION_LOST = (
    "The connection to the carrier broke before it answered; the message was not sent again."
)
CARRIER_OUTCOME_UNKNOWN = (
    "The carrier's answer was lost or unreadable; the message was not sent again."
)
CARRIER_UNAVAILABLE_RETRYING = "The carrier was unavailable; the message will be sent again."
RATE_LIMIT_WAIT = "The carrier's throughput limit was reached; the message waits for its turn."
CARRIER_UNAVAILABLE_FINAL = (
    "The carrier was unavailable at every attempt; the message was not sent."
)
CARRIER_FAILED_OVER = (
    "The carrier did not take the message; it goes to the next carrier of its route."
)
CARRIER_BREAKER_OPEN = (
    "The carrier was failing for most messages, so it was not asked; the message goes to the "
    "next carrier of its route."
)
CARRIER_REFUSED = "The carrier refused the message."
"""For a refusal that carries no message of the carrier's own."""
RECIPIENT_OPTED_OUT_AT_SEND = (
    "The recipient replied STOP to this account before the message was sent; it was not sent."
)
OPT_OUT_UNCHECKED = "The recipient's opt-out could not be checked; the message will be sent again."
VALIDITY_PERIOD_EXPIRED = (
    "The message's validity period ended before it could be sent; it was not sent."
)

# Reconciliation (logic/reconcile.py) of a message whose outcome was unknown.
FOUND_BY_RECONCILIATION = "The carrier was found to hold the message; it was not sent again."
NOT_FOUND_BY_RECONCILIATION = (
    "The carrier's outcome stayed unknown and it does not show the message; it was not sent again."
)

# Delivery receipts (logic/receipts.py) that carry no text of the carrier's own.
# `{carrier_code}` is " (carrier error <its code>)" when the receipt has one, else empty.
CARRIER_UNDELIVERED = "The carrier could not deliver the message to the handset{carrier_code}."
CARRIER_FAILED = "The carrier reported the message failed{carrier_code}."

# The API (logic/send_request_use_case.py): a message stored but not queued.
NOT_QUEUED = "The message could not be queued; send it again."

# Webhook attempts (logic/webhook_delivery.py, webhook_client.py), by cause.
WEBHOOK_TIMED_OUT = "The webhook endpoint did not answer in time."
WEBHOOK_CONNECTION_REFUSED = "The webhook endpoint refused the connection."
WEBHOOK_CONNECTION_FAILED = "The connection to the webhook endpoint broke before it answered."
WEBHOOK_TLS_FAILED = "The webhook endpoint's TLS certificate or handshake was not accepted."
WEBHOOK_HOST_UNKNOWN = "The webhook's host name could not be resolved."
WEBHOOK_DESTINATION_REFUSED = (
    "The webhook's host resolves to an internal address, which webhooks may not reach."
)
WEBHOOK_URI_UNUSABLE = "The webhook URI is not an http(s) URI with a host and a valid port."

# Reply forwards (logic/replies.py).
FORWARD_EMAIL_SENT = "The e-mail was sent."
FORWARD_EMAIL_REJECTED = "The mail service refused the e-mail; it was not sent."


# What the sender, reconciliation and the API wrote before these sentences: an exact text,
# or a prefix followed by an exception's text. Read only, never matched to decide anything.
_LEGACY_TEXTS = {
    "found at the carrier by reconciliation": FOUND_BY_RECONCILIATION,
    "outcome unknown and not found at the carrier; not resent": NOT_FOUND_BY_RECONCILIATION,
    "not queued": NOT_QUEUED,
}
_LEGACY_PREFIXES = (
    ("carrier outcome unknown:", CARRIER_OUTCOME_UNKNOWN),
    ("carrier unavailable, will retry:", CARRIER_UNAVAILABLE_RETRYING),
    ("carrier unavailable:", CARRIER_UNAVAILABLE_FINAL),
    ("end user messaging refused the message", CARRIER_REFUSED),
    ("twilio refused the message (", CARRIER_REFUSED),
    ("vonage refused the", CARRIER_REFUSED),
    ("vonage took ", CARRIER_REFUSED),
)


def public_text(text: str) -> str:
    """A stored Detail or ErrorMessage as a customer may read it: an old text that could
    carry an exception's text becomes its cause's sentence; any other is returned as is."""
    if text in _LEGACY_TEXTS:
        return _LEGACY_TEXTS[text]
    return next(
        (sentence for prefix, sentence in _LEGACY_PREFIXES if text.startswith(prefix)), text
    )
