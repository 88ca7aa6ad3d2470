"""What the carrier simulator says, per carrier: Twilio's Programmable Messaging subset and
Vonage's SMS API (End User Messaging's is in `simulator_eum`).

A wire (`TwilioWire`, `VonageWire`, chosen by `WIRES[carrier]`; `simulator_eum.EumWire`)
refuses a request the carrier would refuse (credentials, missing or malformed fields), turns
an accepted request into the simulator's submission record (the same shape for all: E.164
`To`, `From`, `Body`, `StatusCallback`, `sid`) and gives the answers: accepted, server
error, throttled, and for Vonage a `status` code in an HTTP 200. `signed_callback` signs a
Vonage webhook (receipts, inbound messages) the way Vonage does.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Protocol

from smsgw.carriers.vonage import SUBMIT_STATUSES, e164, signature
from smsgw.ids import MESSAGE_PREFIX, new_sid
from smsgw.kernel.text import analyse

API_VERSION = "2010-04-01"
VONAGE_SMS_PATH = "/sms/json"
DEFAULT_API_KEY = "simkey01"
DEFAULT_API_SECRET = "simulator-secret"  # noqa: S105 - a local simulator, not a secret
DEFAULT_SIGNATURE_SECRET = "simulator-signature-secret"  # noqa: S105

Submission = dict[str, Any]
Answer = tuple[int, dict[str, Any]]

_E164 = re.compile(r"\+[1-9]\d{1,14}")


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


@dataclass(frozen=True, slots=True)
class VonageCredentials:
    """What the simulator checks and signs with in Vonage mode."""

    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    signature_secret: str = DEFAULT_SIGNATURE_SECRET
    signature_method: str = "md5hash"

    def authorized(self, form: dict[str, str]) -> bool:
        """True for this account's key and secret in a submission's form."""
        return hmac.compare_digest(
            form.get("api_key", "").encode(), self.api_key.encode()
        ) and hmac.compare_digest(form.get("api_secret", "").encode(), self.api_secret.encode())


def signed_callback(
    params: dict[str, str],
    secret: str = DEFAULT_SIGNATURE_SECRET,
    method: str = "md5hash",
    now: float | None = None,
) -> dict[str, str]:
    """`params` with the `timestamp`, `nonce` and `sig` Vonage adds to a signed webhook."""
    signed = dict(params)
    signed.setdefault("timestamp", str(int(time.time() if now is None else now)))
    signed.setdefault("nonce", secrets.token_hex(16))
    signed["sig"] = signature(secret, signed.items(), method)
    return signed


# --- Twilio ------------------------------------------------------------------------------


def twilio_error(status: int, code: int, message: str) -> Answer:
    """A Twilio-format error body."""
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def validation_error(form: dict[str, str]) -> Answer | None:
    """The 400 Twilio gives a malformed create-message request, or None."""
    if not form.get("To"):
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not form.get("From"):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body"):
        return twilio_error(400, 21602, "Message body is required.")
    if not _E164.fullmatch(form["To"]):
        return twilio_error(
            400, 21211, f"The 'To' number {form['To']} is not a valid phone number."
        )
    return None


def message_resource(account_sid: str, submission: Submission) -> dict[str, Any]:
    """The Twilio Message resource for a freshly queued submission."""
    sid = submission["sid"]
    created = format_datetime(datetime.fromisoformat(submission["received_at"]))
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": submission["Body"],
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": submission["From"],
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(analyse(submission["Body"]).segments),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": submission["To"],
        "uri": f"{uri}.json",
    }


class TwilioWire:
    """Twilio's create-message request (form-encoded, Basic auth) and its answers."""

    content_type = "application/json"
    retry_after = True

    @staticmethod
    def refusal(form: dict[str, str], authorized: bool) -> Answer | None:
        if not authorized:
            return twilio_error(401, 20003, "Authenticate")
        return validation_error(form)

    @staticmethod
    def submission(form: dict[str, str]) -> Submission:
        return {
            "sid": new_sid(MESSAGE_PREFIX),
            "From": form["From"],
            "To": form["To"],
            "Body": form["Body"],
            "StatusCallback": form.get("StatusCallback") or None,
        }

    @staticmethod
    def accepted(account_sid: str, submission: Submission) -> Answer:
        return 201, message_resource(account_sid, submission)

    @staticmethod
    def server_error() -> Answer:
        return twilio_error(500, 20500, "Internal Server Error")

    @staticmethod
    def throttled() -> Answer:
        return twilio_error(429, 20429, "Too Many Requests")

    @staticmethod
    def status_refusal(status: int) -> Answer:
        raise ValueError("status faults are Vonage's; Twilio has none")


# --- Vonage ------------------------------------------------------------------------------


def vonage_answer(to: str, message_ids: list[str]) -> dict[str, Any]:
    """The SMS API's answer to an accepted submission: one entry per part."""
    return {
        "message-count": str(len(message_ids)),
        "messages": [
            {
                "to": to,
                "message-id": message_id,
                "status": "0",
                "remaining-balance": "10.00000000",
                "message-price": "0.03330000",
                "network": "23410",
            }
            for message_id in message_ids
        ],
    }


def status_answer(status: int) -> dict[str, Any]:
    """The SMS API's answer refusing a submission with Vonage status `status`."""
    meaning = SUBMIT_STATUSES.get(status, ("Unknown", True))[0]
    return {"message-count": "1", "messages": [{"status": str(status), "error-text": meaning}]}


class VonageWire:
    """Vonage's `POST /sms/json` (form or JSON, key and secret in it) and its answers: HTTP
    200 with a `status` per part, 500 and 429 for the HTTP faults."""

    content_type = "application/json"
    retry_after = True

    @staticmethod
    def refusal(form: dict[str, str], authorized: bool) -> Answer | None:
        if not authorized:
            return 200, status_answer(4)
        if not form.get("from") or not form.get("to") or not form.get("text"):
            return 200, status_answer(2)
        if not form["to"].isdigit():
            return 200, status_answer(3)
        return None

    @staticmethod
    def submission(form: dict[str, str]) -> Submission:
        """The record, in Twilio's shape, plus each part's `message_ids` and the `form` as
        sent (less the secret)."""
        ids = [secrets.token_hex(8).upper() for _ in range(analyse(form["text"]).segments)]
        return {
            "sid": ids[0],
            "message_ids": ids,
            "From": e164(form["from"]),
            "To": e164(form["to"]),
            "Body": form["text"],
            "StatusCallback": form.get("callback") or None,
            "ClientRef": form.get("client-ref") or None,
            "form": {k: v for k, v in form.items() if k != "api_secret"},
        }

    @staticmethod
    def accepted(_: str, submission: Submission) -> Answer:
        return 200, vonage_answer(submission["form"]["to"], submission["message_ids"])

    @staticmethod
    def server_error() -> Answer:
        return 500, {"error": "Internal Server Error"}

    @staticmethod
    def throttled() -> Answer:
        return 429, {"error": "Too Many Requests"}

    @staticmethod
    def status_refusal(status: int) -> Answer:
        return 200, status_answer(status)


WIRES: dict[str, Wire] = {"twilio": TwilioWire(), "vonage": VonageWire()}
