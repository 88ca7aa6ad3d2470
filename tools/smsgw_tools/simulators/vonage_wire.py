"""Vonage's SMS API, as the carrier simulator speaks it.

`POST /sms/json` (form or JSON, key and secret in it) and its answers (`VonageWire`: HTTP
200 with a `status` per part, 500 and 429 for the HTTP faults), the DLRs Vonage sends by
GET (`receipt_forms`: `accepted` for sent, `failed` for undelivered and `rejected` for
failed, our MessageSid in `client-ref`, one for each part's id) and the inbound message of
a reply (`inbound_message`, a JSON POST). `signed_callback` signs a webhook with `sig` the
way Vonage does (`smsgw.carriers.vonage.signature`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from smsgw.carriers.vonage import e164, signature
from smsgw.carriers.vonage_codes import SUBMIT_STATUSES
from smsgw.kernel.text import analyse
from smsgw_tools.simulators.wire import Answer, Submission

VONAGE_SMS_PATH = "/sms/json"
DEFAULT_API_KEY = "simkey01"
DEFAULT_API_SECRET = "simulator-secret"  # noqa: S105 - a local simulator, not a secret
DEFAULT_SIGNATURE_SECRET = "simulator-signature-secret"  # noqa: S105
DEFAULT_STATUS = 5
"""The Vonage status code a `status` fault answers with unless told another."""
DLR_STATUS = {
    "sent": "accepted",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "rejected",
}
"""The DLR status of each of the simulator's outcome statuses."""
TTL_MS = (20_000, 604_800_000)
"""The SMS API's range for `ttl`, in milliseconds (its specification's min and max)."""


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
        ttl = form.get("ttl")
        if ttl is not None and not (ttl.isdigit() and TTL_MS[0] <= int(ttl) <= TTL_MS[1]):
            return 200, status_answer(3)  # Invalid Parameters
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

    @staticmethod
    def opted_out() -> Answer:
        return 200, status_answer(NUMBER_BARRED)


NUMBER_BARRED = 7
"""Vonage's refusal of a recipient who may not be sent to (its "Number Barred")."""


def receipt_forms(
    credentials: VonageCredentials, submission: Submission, outcome: dict[str, Any]
) -> list[tuple[float, dict[str, str]]]:
    """The DLRs of a submission, unsigned (they are signed when sent: Vonage's timestamp
    must be fresh), each with its delay in seconds: per part, `accepted` at once, then the
    outcome's status (with an `err-code` unless delivered)."""
    common = {
        "msisdn": submission["To"].lstrip("+"),
        "to": submission["From"].lstrip("+"),
        "network-code": "50501",
        "messageId": submission["sid"],
        "price": "0.03330000",
        "scts": time.strftime("%y%m%d%H%M", time.gmtime()),
        "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "api-key": credentials.api_key,
    }
    if submission.get("ClientRef"):
        common["client-ref"] = submission["ClientRef"]
    forms: list[tuple[float, dict[str, str]]] = []
    # one DLR per part of a long message, each under its own message-id
    for message_id in submission.get("message_ids") or [submission["sid"]]:
        part = {**common, "messageId": message_id}
        forms.append((0.0, {**part, "status": "accepted", "err-code": "0"}))
        final = {**part, "status": DLR_STATUS[outcome["status"]], "err-code": "0"}
        if outcome["status"] != "delivered":
            final["err-code"] = str(outcome.get("error_code") or 1)
        forms.append((outcome["delay"], final))
    return forms


def inbound_message(
    credentials: VonageCredentials, sender: str, to: str, body: str
) -> dict[str, str]:
    """The signed JSON Vonage posts for an inbound SMS."""
    params = {
        "msisdn": sender.lstrip("+"),
        "to": to.lstrip("+"),
        "messageId": secrets.token_hex(8).upper(),
        "text": body,
        "type": "unicode" if analyse(body).encoding != "GSM-7" else "text",
        "keyword": (body.split() or [""])[0].upper(),
        "api-key": credentials.api_key,
        "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    return signed_callback(params, credentials.signature_secret, credentials.signature_method)
