"""Twilio's Programmable Messaging subset, as the carrier simulator speaks it.

The create-message request (form-encoded, Basic auth) and its answers (`TwilioWire`), the
Messages list the gateway's reconciliation reads (`message_resource`), the status callbacks
Twilio POSTs (`receipt_forms`, signed with `X-Twilio-Signature` when sent) and the
incoming-message webhook of a reply (`inbound_form`).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any

from smsgw.ids import MESSAGE_PREFIX, new_sid
from smsgw.kernel.text import analyse
from smsgw_tools.simulators.wire import E164, Answer, Submission

API_VERSION = "2010-04-01"
DEFAULT_RECEIPT_ERROR_CODE = 30003
"""The ErrorCode of an undelivered or failed receipt when the outcome names none."""
MAX_VALIDITY_PERIOD = 36_000
"""Twilio's longest `ValidityPeriod`, in seconds (its error 21624 beyond, or below 1)."""


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
    if not E164.fullmatch(form["To"]):
        return twilio_error(
            400, 21211, f"The 'To' number {form['To']} is not a valid phone number."
        )
    validity = form.get("ValidityPeriod")
    if validity is not None and not (
        validity.isdigit() and 1 <= int(validity) <= MAX_VALIDITY_PERIOD
    ):
        return twilio_error(
            400,
            21624,
            "Validity period can only be set to integers between 1 and 36,000 seconds.",
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
            "ValidityPeriod": form.get("ValidityPeriod"),
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
    def opted_out() -> Answer:
        return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")

    @staticmethod
    def status_refusal(status: int) -> Answer:
        raise ValueError("status faults are Vonage's; Twilio has none")


def receipt_forms(
    account_sid: str, submission: Submission, outcome: dict[str, Any]
) -> list[tuple[float, dict[str, str]]]:
    """The status callbacks of a submission, each with its delay in seconds: `sent` at
    once, then the outcome's status (with an ErrorCode unless delivered)."""
    common = {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "From": submission["From"],
        "To": submission["To"],
        "MessageSid": submission["sid"],
        "SmsSid": submission["sid"],
    }
    sent = {**common, "MessageStatus": "sent", "SmsStatus": "sent"}
    final = {**common, "MessageStatus": outcome["status"], "SmsStatus": outcome["status"]}
    if outcome["status"] != "delivered":
        final["ErrorCode"] = str(outcome.get("error_code") or DEFAULT_RECEIPT_ERROR_CODE)
    return [(0.0, sent), (outcome["delay"], final)]


def inbound_form(account_sid: str, sender: str, to: str, body: str) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS (the location fields left empty)."""
    sid = new_sid(MESSAGE_PREFIX)
    return {
        "ToCountry": "",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "",
        "To": to,
        "ToZip": "",
        "NumSegments": str(analyse(body).segments if body else 1),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": API_VERSION,
    }
