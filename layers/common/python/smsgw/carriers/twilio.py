"""Twilio Programmable Messaging: the subset of its wire format the gateway uses.

Submitting is `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth;
status callbacks and inbound messages are form posts signed with `X-Twilio-Signature`.
The local carrier simulator speaks the same subset, so this module runs unchanged against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests

from smsgw.carriers.http import (
    header,
    int_or_none,
    json_object,
    new_session,
    request_failure,
    required,
    retry_after,
)
from smsgw.models.carrier import (
    GATEWAY_SID_PARAM,
    IGNORED,
    CallbackRequest,
    CarrierError,
    OutboundSms,
    OutcomeUnknownError,
    Receipt,
    Reply,
    SubmitResult,
)

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
VALIDITY_PERIOD_RANGE = (1, 36_000)
"""Seconds Twilio takes as a message's `ValidityPeriod` (its error 21624 outside them)."""


STATUS_MAP: dict[str, str] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
    "accepted": IGNORED,
    "scheduled": IGNORED,
    "queued": IGNORED,
    "sending": IGNORED,
    "receiving": IGNORED,
    "received": IGNORED,
}
"""Twilio MessageStatus → the product's receipt status. Unlisted statuses are ignored too."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
RECONCILE_SLACK_SECONDS = 60
"""Clock skew allowed between our claim and Twilio's date_created."""


class TwilioCarrier:
    """The carrier adapter for Twilio (and the local simulator, which speaks the same API)."""

    name = "twilio"

    @staticmethod
    def receipts_name_message_sid(sms: OutboundSms) -> bool:
        """Its StatusCallback URL carries our MessageSid (`smsgw_sid`)."""
        return sms.status_callback_url is not None

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str = "https://api.twilio.com",
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self._messages_url = (
            f"{base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        )
        self._session = session or new_session()
        self._timeout = (connect_timeout, read_timeout)

    def submit(self, sms: OutboundSms) -> SubmitResult:
        """Create the message at Twilio.

        Raises CarrierError when Twilio did not take the message (permanent when the message
        itself is at fault) and OutcomeUnknownError when it may have taken it.
        """
        form = {"From": sms.sender, "To": sms.to, "Body": sms.text}
        if sms.status_callback_url:
            form["StatusCallback"] = sms.status_callback_url
        if sms.validity_seconds is not None:
            # Twilio drops a message still in its queue after these seconds (error 30036)
            low, high = VALIDITY_PERIOD_RANGE
            form["ValidityPeriod"] = str(min(max(sms.validity_seconds, low), high))
        try:
            response = self._session.post(
                self._messages_url,
                data=form,
                auth=(self.account_sid, self._auth_token),
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise request_failure("twilio", exc) from exc
        return _submit_result(response)

    def verify(self, request: CallbackRequest) -> bool:
        """True when `X-Twilio-Signature` matches the callback.

        `request.url` must be the full URL exactly as Twilio requested it, query string
        included; for POST the signed data also covers every form parameter of the body.
        """
        given = header(request.headers, SIGNATURE_HEADER)
        if not given:
            return False
        params = _form(request.body) if request.method.upper() == "POST" else []
        return any(
            hmac.compare_digest(signature(self._auth_token, url, params).encode(), given.encode())
            for url in _url_variants(request.url)
        )

    def parse_receipt(self, request: CallbackRequest) -> Receipt:
        """The delivery receipt in a verified Twilio status callback.

        Intermediate statuses (queued, sending, ...) come back with status `IGNORED`.
        """
        params = _params(request)
        carrier_sid = required(params, "MessageSid", "twilio")
        raw_status = required(params, "MessageStatus", "twilio")
        return Receipt(
            carrier_sid=carrier_sid,
            status=STATUS_MAP.get(raw_status.lower(), IGNORED),
            error_code=int_or_none(params.get("ErrorCode")),
            error_message=params.get("ErrorMessage") or None,
            message_sid=request.query.get(GATEWAY_SID_PARAM) or None,
            carrier_status=raw_status,
        )

    def parse_reply(self, request: CallbackRequest) -> Reply:
        """The inbound SMS in a verified Twilio incoming-message callback."""
        params = _params(request)
        return Reply(
            carrier_sid=required(params, "MessageSid", "twilio"),
            responder=required(params, "From", "twilio"),
            number=required(params, "To", "twilio"),
            text=params.get("Body", ""),
        )

    def reconcile(self, sms: OutboundSms, claimed_at: float) -> SubmitResult | None:
        """Best effort: the one message Twilio holds to `sms.to` from `sms.sender` with
        `sms.text` as its body, created from a minute before the claim on (Twilio's Messages
        list filters by To, From and DateSent only, so the body is the match). None when
        there is no such message, or more than one (never guessed). Raises CarrierError
        when Twilio could not be asked."""
        day = time.strftime("%Y-%m-%d", time.gmtime(claimed_at - RECONCILE_SLACK_SECONDS))
        params = {"To": sms.to, "From": sms.sender, "DateSent>": day, "PageSize": "50"}
        try:
            response = self._session.get(
                self._messages_url,
                params=params,
                auth=(self.account_sid, self._auth_token),
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise CarrierError(f"twilio lookup failed: {exc}", permanent=False) from exc
        if response.status_code != 200:
            raise CarrierError(f"twilio lookup answered {response.status_code}", permanent=False)
        messages = json_object(response).get("messages")
        matches = [
            message
            for message in (messages if isinstance(messages, list) else [])
            if isinstance(message, dict)
            and message.get("body") == sms.text
            and message.get("from") == sms.sender
            and _created_at(message) >= claimed_at - RECONCILE_SLACK_SECONDS
        ]
        if len(matches) != 1:
            return None
        return SubmitResult(
            carrier_sid=str(matches[0]["sid"]), carrier_status=str(matches[0].get("status"))
        )


def _created_at(message: dict) -> float:
    try:
        return parsedate_to_datetime(str(message.get("date_created"))).timestamp()
    except (TypeError, ValueError):
        return 0.0


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(auth token, URL + sorted name+value))."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


CARRIER_REFUSALS = frozenset({"21408", "21606", "21612", "21659", "21660"})
"""Twilio's 4xx codes that refuse the message for what Twilio is, not for what the message
is: the destination's region not enabled on the account (21408), a sender that is not a
message-capable Twilio number of ours (21606, 21659, 21660), a To/From combination Twilio
cannot route (21612). Another carrier may take the same message (docs/carriers.md)."""


def _submit_result(response: requests.Response) -> SubmitResult:
    status = response.status_code
    if 200 <= status < 300:
        body = json_object(response)
        try:
            return SubmitResult(carrier_sid=str(body["sid"]), carrier_status=str(body["status"]))
        except KeyError as exc:
            # Twilio said yes but we cannot tell which message: never resend it.
            raise OutcomeUnknownError(f"twilio {status} without sid/status") from exc
    if status == 429:
        raise CarrierError(
            "twilio throttled the request",
            permanent=False,
            retry_after=retry_after(response.headers.get("Retry-After")),
        )
    if status in (401, 403):
        raise CarrierError(f"twilio rejected our credentials ({status})", permanent=False)
    if 400 <= status < 500:
        body = json_object(response)
        code = body.get("code")
        message = body.get("message")
        raise CarrierError(
            str(message or f"twilio refused the message ({status})"),
            permanent=True,
            code=None if code is None else str(code),
            carrier_message=message if isinstance(message, str) else None,
            about_carrier=str(code) in CARRIER_REFUSALS,
        )
    raise CarrierError(f"twilio answered {status}", permanent=False)


def _form(body: str) -> list[tuple[str, str]]:
    return parse_qsl(body or "", keep_blank_values=True)


def _params(request: CallbackRequest) -> dict[str, str]:
    """Callback parameters: the query string, overlaid with the form body of a POST."""
    params = dict(request.query)
    if request.method.upper() == "POST":
        params.update(_form(request.body))
    return params


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus its form with/without the scheme's default port.

    Proxies and API Gateway may add or drop `:443`; Twilio signs the URL it called.
    """
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if default is None or not parts.netloc or port not in (None, default):
        return [url]
    netloc = parts.netloc.removesuffix(f":{default}") if port else f"{parts.netloc}:{default}"
    return [url, urlunsplit(parts._replace(netloc=netloc))]
