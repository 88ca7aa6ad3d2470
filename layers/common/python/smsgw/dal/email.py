"""E-mail through Amazon SES (SendEmail: SES builds the headers from separate fields)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from smsgw.logic.replies import MailRejectedError, MailUnavailableError
from smsgw.warm import aws_client

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10
)
_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "ConfigurationSetDoesNotExist",
}


@aws_client
def ses() -> Any:
    return boto3.client("ses", config=_CONFIG)


class SesMailer:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    def send(
        self, source: str, to: str, subject: str, body: str, reply_to: str | None = None
    ) -> str:
        client = self._client or ses()
        arguments: dict[str, Any] = {
            "Source": source,
            "Destination": {"ToAddresses": [to]},
            "Message": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            },
        }
        if reply_to:
            arguments["ReplyToAddresses"] = [reply_to]
        try:
            return client.send_email(**arguments)["MessageId"]
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _REJECTED:
                raise MailRejectedError(
                    f"{code}: {exc.response['Error'].get('Message', '')}"
                ) from exc
            raise MailUnavailableError(f"{code}: {exc}") from exc
        except (ConnectTimeoutError, EndpointConnectionError) as exc:
            raise MailUnavailableError(str(exc)) from exc
