"""AWS End User Messaging SMS, as the carrier simulator speaks it: `SendTextMessage` in the
`pinpoint-sms-voice-v2` JSON 1.0 protocol, and the JSON End User Messaging publishes.

`CarrierSimulator(carrier="eum")` answers `POST /` with `X-Amz-Target:
PinpointSMSVoiceV2.SendTextMessage` (SigV4-signed for `sms-voice` in the simulator's region)
the way the real service does, errors included (`{"__type": ..., "message": ...}` plus the
modelled members botocore reads, such as `Reason`), so `EndUserMessagingCarrier` meets real
botocore exceptions (`EumWire`). End User Messaging delivers nothing itself: a configuration
set's event destination publishes delivery events (`sms_event`) to an SNS topic and a
number's two-way channel publishes replies (`two_way_message`) to another; the simulator's
SNS is `sns.Sns`. `EumAccount` is the AWS account the simulator plays.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smsgw.kernel.text import analyse
from smsgw_tools.simulators.wire import E164, Answer, Submission

TARGET_PREFIX = "PinpointSMSVoiceV2"
SEND_TEXT_MESSAGE = f"{TARGET_PREFIX}.SendTextMessage"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
SIGNING_NAME = "sms-voice"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_ORIGINATION_IDENTITY = "pool-simulator"
DEFAULT_CONFIGURATION_SET = "smsgw-events"
"""The configuration set the template's placeholder secret names."""

PreviousMessage = Callable[[str, str], str | None]
"""(responder, our number) → the MessageId last sent from our number to the responder."""

_IDENTITY = re.compile(r"[A-Za-z0-9_:/+-]{1,256}")
_MESSAGE_TYPES = ("TRANSACTIONAL", "PROMOTIONAL")
_MAX_CONTEXT_ENTRIES = 5
_MAX_BODY_CHARACTERS = 1600
_TIME_TO_LIVE = (5, 259_200)
"""SendTextMessage's `TimeToLive`, seconds (the API reference's min and max)."""

# What the simulator's outcome statuses look like as End User Messaging events:
# (eventType, messageStatus, messageStatusDescription, isFinal).
_EVENTS: dict[str, tuple[str, str, str, bool]] = {
    "sent": ("TEXT_SUCCESSFUL", "SUCCESSFUL", "Message has been accepted by phone carrier", False),
    "delivered": ("TEXT_DELIVERED", "DELIVERED", "Message has been accepted by phone", True),
    "undelivered": (
        "TEXT_CARRIER_UNREACHABLE",
        "CARRIER_UNREACHABLE",
        "The destination carrier is unreachable",
        True,
    ),
    "failed": ("TEXT_INVALID", "INVALID", "Invalid destination phone number", True),
}


@dataclass(frozen=True, slots=True)
class EumAccount:
    """The AWS account the simulator plays: its region, the origination identity and the
    configuration set the gateway is given, and the two SNS topics."""

    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    origination_identity: str = DEFAULT_ORIGINATION_IDENTITY
    configuration_set: str = DEFAULT_CONFIGURATION_SET

    @property
    def sns_host(self) -> str:
        return f"sns.{self.region}.amazonaws.com"

    @property
    def events_topic(self) -> str:
        """The topic of the configuration set's event destination (delivery events)."""
        return f"arn:aws:sns:{self.region}:{self.account_id}:smsgw-eum-events"

    @property
    def replies_topic(self) -> str:
        """The topic of the numbers' two-way channel (inbound messages)."""
        return f"arn:aws:sns:{self.region}:{self.account_id}:smsgw-eum-replies"


class AwsError(Exception):
    """A request the service refuses before looking at it; `answer` is what it says."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer[1].get("message", ""))
        self.answer = answer


def aws_error(status: int, code: str, message: str, **members: Any) -> Answer:
    """An AWS JSON-protocol error: `__type`, `message` and the error shape's own members
    (botocore copies those, e.g. `Reason`, into the exception's response)."""
    return status, {"__type": code, "message": message, **members}


def aws_authorized(authorization: str | None, region: str) -> bool:
    """True for a SigV4 Authorization header scoped to `sms-voice` in `region`.

    The signature itself is not checked (the local credentials are dummies); the scope
    is, because a client built for another service or region would fail in AWS too."""
    credential = rf"[^/,\s]+/\d{{8}}/{re.escape(region)}/{SIGNING_NAME}/aws4_request,"
    return bool(re.match(rf"AWS4-HMAC-SHA256 Credential={credential}", authorization or ""))


def send_text_message_request(target: str | None, body: str) -> dict[str, Any]:
    """The JSON request of a `SendTextMessage` call. Raises AwsError for another operation
    or a body that is not a JSON object."""
    if target != SEND_TEXT_MESSAGE:
        raise AwsError(
            aws_error(400, "UnknownOperationException", f"Unknown operation {target or ''}")
        )
    try:
        request = json.loads(body or "{}")
    except ValueError as exc:
        raise AwsError(aws_error(400, "SerializationException", "Malformed JSON")) from exc
    if not isinstance(request, dict):
        raise AwsError(aws_error(400, "SerializationException", "Expected a JSON object"))
    return request


def _field_error(name: str, message: str) -> Answer:
    return aws_error(
        400,
        "ValidationException",
        f"1 validation error detected: Value at '{name}' failed to satisfy constraint: {message}",
        Reason="FIELD_VALIDATION_FAILED",
        Fields=[{"Name": name, "Message": message}],
    )


def validation_error(request: Mapping[str, Any], configuration_set: str) -> Answer | None:
    """The error End User Messaging gives a malformed SendTextMessage, or None: a number
    that is not E.164, a bad identity, body, type, time to live or context, or an unknown
    configuration set (ResourceNotFoundException)."""
    destination = request.get("DestinationPhoneNumber")
    if not isinstance(destination, str) or not E164.fullmatch(destination):
        return _field_error("destinationPhoneNumber", "must be a phone number in E.164 format")
    identity = request.get("OriginationIdentity")
    if identity is not None and not (isinstance(identity, str) and _IDENTITY.fullmatch(identity)):
        return _field_error("originationIdentity", "must match [A-Za-z0-9_:/\\+-]+")
    body = request.get("MessageBody")
    if body is not None and not (
        isinstance(body, str) and body.strip() and len(body) <= _MAX_BODY_CHARACTERS
    ):
        return _field_error("messageBody", "must be 1 to 1600 characters, not only spaces")
    if request.get("MessageType", "TRANSACTIONAL") not in _MESSAGE_TYPES:
        return _field_error("messageType", "must be TRANSACTIONAL or PROMOTIONAL")
    ttl = request.get("TimeToLive")
    if ttl is not None and not (
        isinstance(ttl, int)
        and not isinstance(ttl, bool)
        and _TIME_TO_LIVE[0] <= ttl <= _TIME_TO_LIVE[1]
    ):
        return _field_error("timeToLive", "must be an integer from 5 to 259200")
    context = request.get("Context", {})
    if not isinstance(context, dict) or len(context) > _MAX_CONTEXT_ENTRIES:
        return _field_error("context", "must be a map of at most 5 entries")
    named = request.get("ConfigurationSetName")
    if named is not None and named != configuration_set:
        return aws_error(
            404,
            "ResourceNotFoundException",
            f"Configuration set {named} does not exist",
            ResourceType="configuration-set",
            ResourceId=str(named),
        )
    return None


class EumWire:
    """End User Messaging's SendTextMessage and its answers, in the shape of `wire.Wire`.
    A submission's `StatusCallback` is the SNS topic its events go to (the configuration
    set's event destination), None when the request named no set."""

    content_type = JSON_CONTENT_TYPE
    retry_after = False
    """AWS throttles with a ThrottlingException, not an HTTP 429 and Retry-After."""

    def __init__(self, account: EumAccount) -> None:
        self.account = account

    def refusal(self, request: dict[str, Any], authorized: bool) -> Answer | None:
        if not authorized:
            return aws_error(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        return validation_error(request, self.account.configuration_set)

    def submission(self, request: dict[str, Any]) -> Submission:
        """The record in the simulator's common shape (`From` is the origination identity)
        plus the request's own fields."""
        identity = request.get("OriginationIdentity") or self.account.origination_identity
        configuration_set = request.get("ConfigurationSetName")
        return {
            "sid": str(uuid.uuid4()),
            "From": identity,
            "To": request["DestinationPhoneNumber"],
            "Body": request.get("MessageBody", ""),
            "StatusCallback": self.account.events_topic if configuration_set else None,
            "Context": dict(request.get("Context") or {}),
            "OriginationIdentity": identity,
            "ConfigurationSetName": configuration_set,
            "MessageType": request.get("MessageType"),
            "TimeToLive": request.get("TimeToLive"),
            "request": request,
        }

    @staticmethod
    def accepted(_: str, submission: Submission) -> Answer:
        return 200, {"MessageId": submission["sid"]}

    @staticmethod
    def server_error() -> Answer:
        return aws_error(
            500,
            "InternalServerException",
            "Internal server error",
            RequestId=str(uuid.uuid4()),
        )

    @staticmethod
    def throttled() -> Answer:
        return aws_error(400, "ThrottlingException", "Rate exceeded")

    @staticmethod
    def status_refusal(status: int) -> Answer:
        raise ValueError("status faults are Vonage's; End User Messaging has none")

    @staticmethod
    def opted_out() -> Answer:
        return aws_error(
            400,
            "ConflictException",
            "The destination phone number is opted out",
            Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
            ResourceType="opt-out-list",
            ResourceId="Default",
        )


# --- End User Messaging's JSON inside SNS --------------------------------------------------


def _epoch_ms(seconds: float) -> int:
    return int(seconds * 1000)


def sms_event(submission: Submission, status: str, at: float | None = None) -> dict[str, Any]:
    """The SMS event End User Messaging publishes for `submission` reaching `status` (one
    of sent, delivered, undelivered, failed) at `at` (epoch seconds; now by default), in
    the shape of "Example of SMS event data" (tests/fixtures/eum/sms_event.json)."""
    event_type, message_status, description, final = _EVENTS[status]
    text = analyse(submission["Body"] or " ")
    requested = dt.datetime.fromisoformat(submission["received_at"]).timestamp()
    parts = text.segments
    return {
        "eventType": event_type,
        "eventVersion": "1.0",
        "eventTimestamp": _epoch_ms(time.time() if at is None else at),
        "isFinal": final,
        "originationPhoneNumber": submission["From"],
        "destinationPhoneNumber": submission["To"],
        "isInternationalSend": False,
        "mcc": "505",
        "mnc": "01",
        "messageId": submission["sid"],
        "messageRequestTimestamp": _epoch_ms(requested),
        "messageEncoding": "GSM" if text.encoding == "GSM-7" else "UCS2",
        "messageType": submission.get("MessageType") or "TRANSACTIONAL",
        "messageStatus": message_status,
        "messageStatusDescription": description,
        "context": dict(submission.get("Context") or {}),
        "totalMessageParts": parts,
        "totalMessagePrice": round(0.0581 * parts, 5),
        "totalCarrierFee": 0.0,
    }


def receipt_events(
    submission: Submission, outcome: dict[str, Any]
) -> list[tuple[float, dict[str, Any]]]:
    """The SMS events of a submission, each with its delay in seconds: `sent` at once, then
    the outcome's status; each is stamped with the time it will be published. The outcome's
    error code is not used: these events have none."""
    wall = time.time()
    return [
        (0.0, sms_event(submission, "sent", wall)),
        (outcome["delay"], sms_event(submission, outcome["status"], wall + outcome["delay"])),
    ]


def two_way_message(
    sender: str, to: str, body: str, previous_message_id: str | None = None
) -> dict[str, Any]:
    """The inbound SMS a two-way channel publishes ("Example of a two-way SMS message
    payload for Amazon SNS topics", tests/fixtures/eum/two_way_reply.json)."""
    return {
        "originationNumber": sender,
        "destinationNumber": to,
        "messageKeyword": (body.split() or [""])[0].upper(),
        "messageBody": body,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": previous_message_id or "",
    }
