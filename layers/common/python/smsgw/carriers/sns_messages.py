"""SNS messages delivered over HTTPS: reading one from a callback, and checking that SNS
signed it (which fields it signs, the signature's algorithm, the certificate's URL).
End User Messaging publishes its events and replies through SNS (carriers/eum.py); the
signing certificate itself is fetched and verified by carriers/sns_certificates.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from smsgw.carriers.sns_certificates import url_on_host
from smsgw.models.carrier import CallbackRejectedError, CallbackRequest

CertificateFetcher = Callable[[str], bytes]
"""Gets a signing certificate (PEM) by URL."""

SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_FIELDS = {
    "Notification": NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": CONFIRMATION_FIELDS,
}


def refused(reason: str, **details: str) -> bool:
    """False, with the reason logged (the carrier's answer never says why)."""
    from smsgw.observability import logger

    logger.warning("sns message refused", extra={"Reason": reason, **details})
    return False


def string_to_sign(message: Mapping[str, Any], fields: Collection[str]) -> bytes:
    """SNS's canonical string: `name\\nvalue\\n` for each signed field present, in order."""
    return "".join(
        f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None
    ).encode()


def signature_algorithm(version: Any) -> Any:
    from cryptography.hazmat.primitives import hashes

    return {"1": hashes.SHA1, "2": hashes.SHA256}.get(str(version))


def signature_valid(certificate: Any, signature: bytes, data: bytes, algorithm: Any) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, data, padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        return False
    return True


def is_sns_url(url: Any, *, suffix: str = "") -> bool:
    """True for an https URL on an SNS regional host (and, when given, ending in suffix)."""
    return url_on_host(url, SNS_HOST, schemes=("https",), suffix=suffix)


def https_get(url: str) -> bytes:
    import requests

    response = requests.get(url, timeout=(3.05, 5.0), allow_redirects=False)
    response.raise_for_status()
    return response.content


def read(request: CallbackRequest) -> dict[str, Any]:
    """The SNS message a callback carries (not yet verified). Raises CallbackRejectedError."""
    if request.method.upper() != "POST":
        raise CallbackRejectedError("sns delivers messages by POST")
    try:
        message = json.loads(request.body or "")
    except ValueError as exc:
        raise CallbackRejectedError("sns callback body is not JSON") from exc
    if not isinstance(message, dict):
        raise CallbackRejectedError("sns callback body is not a JSON object")
    return message
