"""AWS End User Messaging SMS (the `pinpoint-sms-voice-v2` API).

Submitting is `SendTextMessage` through a boto3 client (`sms_voice`, with botocore's own
retries off: a retried read timeout could send the message twice). Delivery events
(a configuration set's event destination) and two-way replies (the number's two-way
channel) are published to SNS topics; an HTTPS subscription delivers them to the webhooks
endpoint as SNS messages, signed by SNS with an RSA key whose certificate we fetch from
SNS and verify with `cryptography` (carriers/sns_messages.py, sns_certificates.py). The
SNS `Message` holds End User Messaging's own JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from smsgw import explanations
from smsgw.carriers import sns_messages
from smsgw.models.carrier import (
    GATEWAY_SID_PARAM,
    IGNORED,
    CallbackRejectedError,
    CallbackRequest,
    CarrierError,
    OutboundSms,
    OutcomeUnknownError,
    Receipt,
    Reply,
    SubmitResult,
)
from smsgw.warm import aws_client

MESSAGE_TYPE = "TRANSACTIONAL"
TIME_TO_LIVE_RANGE = (5, 259_200)
"""Seconds End User Messaging takes as `TimeToLive` (default 72 hours; botocore refuses a
value outside them before sending)."""


EVENT_STATUS: dict[str, str] = {
    "TEXT_DELIVERED": "delivered",
    "TEXT_SUCCESSFUL": "sent",
    "TEXT_SENT": "sent",
    "TEXT_QUEUED": IGNORED,
    "TEXT_PENDING": IGNORED,
    "TEXT_BLOCKED": "undelivered",
    "TEXT_CARRIER_BLOCKED": "undelivered",
    "TEXT_SPAM": "undelivered",
    "TEXT_TTL_EXPIRED": "undelivered",
    "TEXT_UNREACHABLE": "undelivered",
    "TEXT_CARRIER_UNREACHABLE": "undelivered",
    "TEXT_INVALID": "failed",
    "TEXT_INVALID_MESSAGE": "failed",
    "TEXT_PROTECT_BLOCKED": "failed",
    "TEXT_UNKNOWN": IGNORED,
}
"""SMS event `eventType` → the product's receipt status; unlisted types are ignored.

`TEXT_SUCCESSFUL` (the recipient's carrier accepted the message) is `delivered` when the
event is final (`isFinal`): where no handset receipt exists it is the last word, and the
documentation says the two are used interchangeably depending on the country. Carrier-side
blocks, spam filters, expiry and unreachable handsets are `undelivered`; an invalid number
or body, and our own protect configuration's block, mean it never left (`failed`).
`TEXT_UNKNOWN` (no final event after 72 hours) moves nothing."""

# Errors about our account or configuration, not the message: retried (like Twilio's 401).
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "InternalServerException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        # our credentials or request signing (a rotated key, clock skew): not the message's
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "InvalidClientTokenId",
        "RequestExpired",
    }
)
# The message itself is refused (bad number, opted out, sender not allowed there, ...).
_PERMANENT_CODES = frozenset({"ValidationException", "ConflictException"})
CARRIER_REFUSALS = frozenset(
    {
        "COUNTRY_NOT_ENABLED",
        "DESTINATION_COUNTRY_BLOCKED",
        "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY",
        "NO_ORIGINATION_IDENTITIES_FOUND",
        "DESTINATION_PHONE_NUMBER_NOT_VERIFIED",
        "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
    }
)
"""Reasons of a permanent refusal that are about our End User Messaging account, not the
message: a country not enabled or blocked there, no origination identity for the
destination, a sandbox account's unverified destination. Another carrier may take the
same message (docs/carriers.md)."""


@aws_client
def sms_voice(read_timeout: float, endpoint_url: str | None = None) -> Any:
    """The AWS End User Messaging SMS client (`pinpoint-sms-voice-v2`) for sending.

    botocore's retries are off: it retries a read timeout, which could send a message
    twice; the sender's own retry handles the errors that are safe to repeat."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=read_timeout)
    return boto3.client("pinpoint-sms-voice-v2", config=config, endpoint_url=endpoint_url)


class EndUserMessagingCarrier:
    """The carrier adapter for AWS End User Messaging SMS."""

    name = "eum"

    @staticmethod
    def receipts_name_message_sid(_: OutboundSms) -> bool:
        """Its events return the message's `Context`, which holds our MessageSid."""
        return True

    def __init__(
        self,
        client: Any,
        *,
        origination_identity: str,
        configuration_set: str | None,
        topic_arns: Collection[str] = (),
        certificate_fetcher: sns_messages.CertificateFetcher | None = None,
        trust_store: Callable[[], Any] | None = None,
    ) -> None:
        """`client` is a boto3 `pinpoint-sms-voice-v2` client. `origination_identity` (a
        pool, phone number or sender ID) is used for messages without a sender of their
        own. `topic_arns` are the only SNS topics whose messages verify: without any, no
        SNS message does (AWS: reject a TopicArn you do not expect; anyone can subscribe
        our URL to a topic of their own). `certificate_fetcher` gets a signing
        certificate (PEM) by URL; it defaults to an HTTPS GET, and each URL is fetched once
        per adapter while its certificate stays valid. `trust_store` gives the CAs that
        certificate must chain to (a `cryptography.x509.verification.Store`); by default
        those `requests` trusts (`sns_certificates.trust_store`)."""
        self._client = client
        self.origination_identity = origination_identity
        self.configuration_set = configuration_set
        self._topic_arns = frozenset(topic_arns)
        self._fetch = certificate_fetcher or sns_messages.https_get
        self._certificates: dict[str, Any] = {}
        self._trust_store = trust_store

    def submit(self, sms: OutboundSms) -> SubmitResult:
        """Send the message with SendTextMessage, our MessageSid in its Context.

        The message's own sender (a leased number or a registered sender ID) is the
        origination identity; without one, the configured identity is. Raises CarrierError
        when End User Messaging did not take the message and OutcomeUnknownError when it may
        have taken it.
        """
        request: dict[str, Any] = {
            "DestinationPhoneNumber": sms.to,
            "OriginationIdentity": sms.sender or self.origination_identity,
            "MessageBody": sms.text,
            "MessageType": MESSAGE_TYPE,
            "Context": {GATEWAY_SID_PARAM: sms.message_sid},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if sms.validity_seconds is not None:
            # not handed off within it, the message ends with a TEXT_TTL_EXPIRED event
            low, high = TIME_TO_LIVE_RANGE
            request["TimeToLive"] = min(max(sms.validity_seconds, low), high)
        try:
            response = self._client.send_text_message(**request)
        except Exception as exc:
            raise _submit_failure(exc) from exc
        message_id = response.get("MessageId") if isinstance(response, Mapping) else None
        if not message_id:
            raise OutcomeUnknownError("end user messaging answered without a MessageId")
        return SubmitResult(carrier_sid=str(message_id), carrier_status="accepted")

    def verify(self, request: CallbackRequest) -> bool:
        """True when the body is an SNS message from a configured topic with a valid SNS
        signature."""
        try:
            message = sns_messages.read(request)
        except CallbackRejectedError:
            return False
        if not self._topic_arns:
            return sns_messages.refused("no TopicArns configured: every SNS message is refused")
        if message.get("TopicArn") not in self._topic_arns:
            return sns_messages.refused(
                "topic not in TopicArns", TopicArn=str(message.get("TopicArn"))
            )
        fields = sns_messages.SIGNED_FIELDS.get(str(message.get("Type")))
        algorithm = sns_messages.signature_algorithm(message.get("SignatureVersion"))
        url = message.get("SigningCertURL")
        if fields is None or algorithm is None or not sns_messages.is_sns_url(url, suffix=".pem"):
            return False
        try:
            signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
        except ValueError:
            return False
        try:
            certificate = self._certificate(str(url))
        except Exception as exc:
            return sns_messages.refused(
                f"no trusted signing certificate: {exc}", SigningCertURL=str(url)
            )
        return sns_messages.signature_valid(
            certificate, signature, sns_messages.string_to_sign(message, fields), algorithm
        )

    def is_subscription_confirmation(self, request: CallbackRequest) -> str | None:
        """The SubscribeURL to GET when the callback is a genuine SNS subscription
        confirmation (verified, from an allowed topic, the URL on an SNS host); else None."""
        try:
            message = sns_messages.read(request)
        except CallbackRejectedError:
            return None
        url = message.get("SubscribeURL")
        if message.get("Type") != "SubscriptionConfirmation" or not sns_messages.is_sns_url(url):
            return None
        return str(url) if self.verify(request) else None

    def confirm_subscription(self, request: CallbackRequest) -> bool:
        """Confirm a genuine SNS SubscriptionConfirmation by GETting its SubscribeURL (an
        SNS host only, through the same fetcher as certificates). False when the callback
        is not one (a forged one included: it then fails verification as a receipt).
        Raises CarrierError when SNS could not be reached; SNS sends it again."""
        url = self.is_subscription_confirmation(request)
        if url is None:
            return False
        try:
            self._fetch(url)
        except Exception as exc:
            raise CarrierError(f"sns subscription not confirmed: {exc}", permanent=False) from exc
        return True

    def parse_receipt(self, request: CallbackRequest) -> Receipt:
        """The delivery event in a verified SNS notification.

        Intermediate events (queued, pending) and TEXT_UNKNOWN come back as `IGNORED`.
        """
        event = _event(request)
        event_type = _required(event, "eventType")
        if not event_type.startswith("TEXT_"):
            raise CallbackRejectedError(f"end user messaging event {event_type} is not an SMS")
        status = EVENT_STATUS.get(event_type, IGNORED)
        if event_type == "TEXT_SUCCESSFUL" and event.get("isFinal") is True:
            status = "delivered"
        context = event.get("context")
        message_sid = context.get(GATEWAY_SID_PARAM) if isinstance(context, dict) else None
        failed = status in ("undelivered", "failed")
        return Receipt(
            carrier_sid=_required(event, "messageId"),
            status=status,
            error_code=None,
            error_message=(str(event.get("messageStatusDescription") or "") or None)
            if failed
            else None,
            message_sid=str(message_sid) if message_sid else None,
            carrier_status=event_type,
        )

    def parse_reply(self, request: CallbackRequest) -> Reply:
        """The inbound SMS in a verified SNS notification from a two-way channel."""
        event = _event(request)
        return Reply(
            carrier_sid=_required(event, "inboundMessageId"),
            responder=_required(event, "originationNumber"),
            number=_required(event, "destinationNumber"),
            text=str(event.get("messageBody") or ""),
        )

    def _certificate(self, url: str) -> Any:
        """The signing certificate at `url`, verified (sns_certificates) before it is cached;
        fetched again once the cached one has expired."""
        from smsgw.carriers import sns_certificates

        certificate = self._certificates.get(url)
        if certificate is None or not sns_certificates.valid_at(certificate):
            self._certificates.pop(url, None)
            store = (self._trust_store or sns_certificates.trust_store)()
            certificate = sns_certificates.verified_signing_certificate(
                self._fetch(url), self._fetch, store
            )
            self._certificates[url] = certificate
        return certificate


def _submit_failure(exc: Exception) -> Exception:
    """Translate a failed SendTextMessage: did End User Messaging possibly take it?"""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ParamValidationError,
        ProxyConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        return _client_error(exc)
    if isinstance(exc, ParamValidationError):
        # botocore refused it before sending: the number or text breaks the API's rules.
        return CarrierError(f"end user messaging refused the message: {exc}", permanent=True)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ProxyConnectionError):
        return CarrierError(f"end user messaging unreachable: {exc}", permanent=False)
    if isinstance(exc, NoCredentialsError):
        return CarrierError(f"no AWS credentials: {exc}", permanent=False)
    if isinstance(exc, BotoCoreError):
        # ReadTimeoutError, ConnectionClosedError and the like: the request may have landed.
        detail = (
            explanations.CARRIER_TIMED_OUT
            if isinstance(exc, ReadTimeoutError)
            else explanations.CARRIER_CONNECTION_LOST
            if isinstance(exc, ConnectionClosedError)
            else explanations.CARRIER_OUTCOME_UNKNOWN
        )
        return OutcomeUnknownError(f"end user messaging outcome unknown: {exc}", detail=detail)
    return OutcomeUnknownError(f"end user messaging outcome unknown: {exc!r}")


def _client_error(exc: Any) -> CarrierError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    reason = exc.response.get("Reason") or error.get("Reason")
    detail = str(error.get("Message") or exc)
    full_code = f"{code}:{reason}" if reason else code
    if code in _TRANSIENT_CODES:
        return CarrierError(
            f"end user messaging unavailable ({full_code}): {detail}",
            permanent=False,
            code=full_code,
        )
    if code in _PERMANENT_CODES:
        return CarrierError(
            f"end user messaging refused the message ({full_code}): {detail}",
            permanent=True,
            code=full_code,
            about_carrier=reason in CARRIER_REFUSALS,
        )
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return CarrierError(
        f"end user messaging answered {status or 'an error'} ({full_code}): {detail}",
        permanent=400 <= int(status) < 500 and int(status) != 429,
        code=full_code or None,
    )


def _event(request: CallbackRequest) -> dict[str, Any]:
    """The End User Messaging JSON inside an SNS notification."""
    message = sns_messages.read(request)
    if message.get("Type") != "Notification":
        raise CallbackRejectedError(f"sns message of type {message.get('Type')!r}")
    try:
        event = json.loads(str(message.get("Message") or ""))
    except ValueError as exc:
        raise CallbackRejectedError("sns notification Message is not JSON") from exc
    if not isinstance(event, dict):
        raise CallbackRejectedError("sns notification Message is not a JSON object")
    return event


def _required(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not value:
        raise CallbackRejectedError(f"end user messaging event without {name}")
    return str(value)
