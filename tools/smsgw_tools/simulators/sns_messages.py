"""SNS's messages as the carrier simulator's SNS sends and answers them.

The signature of a message (SignatureVersion 2, SHA256withRSA over SNS's canonical string),
written from SNS's documentation ("Verifying the signatures of Amazon SNS messages"), not
from the adapter's code, so each checks the other; and the XML answers of the Query API
calls the HTTPS server serves (ConfirmSubscription, Unsubscribe, errors).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

Reply = tuple[int, str, bytes]
"""What the HTTPS server answers: status, content type, body."""

SNS_XML_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
SNS_USER_AGENT = "Amazon Simple Notification Service Agent"

# SNS's canonical string: these fields, in this order, as `name\nvalue\n` when present
# ("Verifying the signatures of Amazon SNS messages").
_NOTIFICATION_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_SIGNED = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """SNS's string to sign for a message of any type: `name\\nvalue\\n` per signed field
    present, in SNS's order."""
    fields = _NOTIFICATION_SIGNED if message["Type"] == "Notification" else _CONFIRMATION_SIGNED
    return "".join(
        f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None
    ).encode()


def sign(message: Mapping[str, Any], key: rsa.RSAPrivateKey) -> str:
    """The base64 SignatureVersion 2 signature (SHA256withRSA, PKCS#1 v1.5) of `message`."""
    raw = key.sign(string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def confirm_subscription_response(subscription_arn: str) -> Reply:
    """ConfirmSubscription's answer: the subscription's ARN."""
    body = (
        f'<ConfirmSubscriptionResponse xmlns="{SNS_XML_NAMESPACE}"><ConfirmSubscriptionResult>'
        f"<SubscriptionArn>{escape(subscription_arn)}</SubscriptionArn></ConfirmSubscriptionResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</ConfirmSubscriptionResponse>"
    )
    return 200, "text/xml", body.encode()


def unsubscribe_response() -> Reply:
    """Unsubscribe's answer."""
    body = (
        f'<UnsubscribeResponse xmlns="{SNS_XML_NAMESPACE}"><ResponseMetadata><RequestId>'
        f"{uuid.uuid4()}</RequestId></ResponseMetadata></UnsubscribeResponse>"
    )
    return 200, "text/xml", body.encode()


def error_response(status: int, code: str, message: str) -> Reply:
    """An SNS error (a Sender fault) in the Query API's XML."""
    body = (
        f'<ErrorResponse xmlns="{SNS_XML_NAMESPACE}"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, "text/xml", body.encode()
