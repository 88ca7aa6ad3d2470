"""Vonage SMS API: the subset of its wire format the gateway uses.

Submitting is `POST {base}/sms/json` (a form carrying `api_key` and `api_secret`); the answer
holds one entry per SMS part, each with its own `status` ("0" is success) and `message-id`.
Delivery receipts (DLRs) and inbound messages reach the webhooks endpoint as GET query
parameters, a form POST or a JSON POST (a Vonage dashboard setting), signed with the `sig`
parameter when signed webhooks are enabled; the adapter rejects unsigned callbacks.

Vonage wants phone numbers without the leading "+" and sends them that way; the adapter adds
and strips it so the rest of the gateway only sees E.164.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from smsgw.carriers.http import (
    header,
    int_or_none,
    new_session,
    request_failure,
    required,
    retry_after,
)
from smsgw.carriers.vonage_codes import (
    CARRIER_REFUSALS,
    DLR_ERRORS,
    STATUS_MAP,
    SUBMIT_STATUSES,
)
from smsgw.kernel.text import GSM7, analyse
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

SMS_PATH = "/sms/json"
CLIENT_REF_MAX = 40
"""The older SMS API specification's limit on `client-ref` (the current reference allows
100); our MessageSid (34 characters) fits either."""
TTL_RANGE_MS = (20_000, 604_800_000)
"""Milliseconds Vonage takes as `ttl`, how long it tries to deliver (default 72 hours)."""
SIGNATURE_PARAM = "sig"
SIGNATURE_MAX_AGE = 300.0
"""Seconds a signed callback's `timestamp` may be away from our clock, either way."""
SIGNATURE_METHODS: dict[str, Callable[..., Any] | None] = {
    "md5hash": None,  # plain MD5 of the signed string followed by the secret
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


_JSON_TYPES = ("application/json", "text/json")


@dataclass(frozen=True, slots=True)
class VonageSubmitResult(SubmitResult):
    """A SubmitResult that also keeps every part's id.

    A text longer than one SMS goes out as several parts, each with its own `message-id`
    and its own delivery receipt; `carrier_sid` is the first part's id, `message_ids` all
    of them in order. The receipts of every part carry our MessageSid in `client-ref`.
    """

    message_ids: tuple[str, ...] = ()

    @property
    def further_part_sids(self) -> tuple[str, ...]:
        return self.message_ids[1:]


class VonageCarrier:
    """The carrier adapter for the Vonage SMS API (`rest.nexmo.com`)."""

    name = "vonage"

    @staticmethod
    def receipts_name_message_sid(_: OutboundSms) -> bool:
        """Its delivery receipts return the `client-ref` we send: our MessageSid."""
        return True

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        signature_secret: str | None,
        signature_method: str = "md5hash",
        base_url: str = "https://rest.nexmo.com",
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if signature_method not in SIGNATURE_METHODS:
            raise ValueError(
                f"unknown Vonage signature method {signature_method!r}; "
                f"use one of {', '.join(SIGNATURE_METHODS)}"
            )
        self.api_key = api_key
        self._api_secret = api_secret
        self._signature_secret = signature_secret
        self._signature_method = signature_method
        self._sms_url = base_url.rstrip("/") + SMS_PATH
        self._session = session or new_session()
        self._timeout = (connect_timeout, read_timeout)
        self._clock = clock

    def submit(self, sms: OutboundSms) -> VonageSubmitResult:
        """Send the message through Vonage's SMS API.

        Raises CarrierError when Vonage did not take the message (permanent when the message
        itself is at fault) and OutcomeUnknownError when it may have taken it. When Vonage
        took only some parts of a long message, resending would repeat those parts: that is
        a permanent CarrierError.
        """
        form = {
            "api_key": self.api_key,
            "api_secret": self._api_secret,
            "from": vonage_number(sms.sender),
            "to": vonage_number(sms.to),
            "text": sms.text,
            "client-ref": sms.message_sid[:CLIENT_REF_MAX],
        }
        if analyse(sms.text).encoding != GSM7:
            form["type"] = "unicode"
        if sms.status_callback_url:
            form["callback"] = _without_gateway_sid(sms.status_callback_url)
        if sms.validity_seconds is not None:
            # Vonage stops trying after `ttl` (its receipt then says `expired`)
            low, high = TTL_RANGE_MS
            form["ttl"] = str(min(max(sms.validity_seconds * 1000, low), high))
        try:
            response = self._session.post(
                self._sms_url, data=form, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise request_failure("vonage", exc) from exc
        return _submit_result(response)

    def verify(self, request: CallbackRequest) -> bool:
        """True when the callback's `sig` matches its parameters and its `timestamp` is
        within five minutes of now.

        The signed parameters are the query string of a GET, or the form or JSON body of a
        POST. Without a configured signature secret nothing verifies.
        """
        if not self._signature_secret:
            return False
        try:
            params = _callback_params(request)
        except CallbackRejectedError:
            return False
        given = params.get(SIGNATURE_PARAM)
        if not given or not _fresh(params.get("timestamp"), self._clock()):
            return False
        expected = signature(self._signature_secret, params.items(), self._signature_method)
        # md5hash signatures come lower-case from some SDKs, HMAC ones upper-case.
        return hmac.compare_digest(expected.encode(), given.upper().encode())

    def parse_receipt(self, request: CallbackRequest) -> Receipt:
        """The delivery receipt in a verified Vonage DLR callback.

        Every part of a long message has its own DLR; each names the part's `messageId` and
        our MessageSid (`client-ref`). `buffered` and `unknown` come back as `IGNORED`.
        """
        params = _callback_params(request)
        carrier_sid = required(params, "messageId", "vonage")
        raw_status = required(params, "status", "vonage")
        error_code = int_or_none(params.get("err-code"))
        if error_code == 0:
            error_code = None
        return Receipt(
            carrier_sid=carrier_sid,
            status=STATUS_MAP.get(raw_status.lower(), IGNORED),
            error_code=error_code,
            error_message=DLR_ERRORS.get(error_code) if error_code is not None else None,
            message_sid=params.get("client-ref") or request.query.get(GATEWAY_SID_PARAM) or None,
            carrier_status=raw_status,
        )

    def parse_reply(self, request: CallbackRequest) -> Reply:
        """The inbound SMS in a verified Vonage inbound-message callback.

        A long inbound text arrives as several callbacks (`concat=true` with `concat-ref`,
        `concat-part`, `concat-total`); each part is returned as it is and not reassembled.
        """
        params = _callback_params(request)
        return Reply(
            carrier_sid=required(params, "messageId", "vonage"),
            responder=e164(required(params, "msisdn", "vonage")),
            number=e164(required(params, "to", "vonage")),
            text=params.get("text", ""),
        )


def signature(secret: str, params: Iterable[tuple[str, str]], method: str = "md5hash") -> str:
    """Vonage's request signature over every parameter but `sig`, upper-case hex.

    The signed string is `&name=value` for each parameter sorted by name, with `&` and `=`
    in values replaced by `_`. `md5hash` is MD5 of that string followed by the secret; the
    other methods are the HMAC of the string keyed with the secret.
    """
    signed = "".join(
        f"&{name}={value.replace('&', '_').replace('=', '_')}"
        for name, value in sorted(params)
        if name != SIGNATURE_PARAM
    )
    digest = SIGNATURE_METHODS[method]
    if digest is None:
        return hashlib.md5((signed + secret).encode()).hexdigest().upper()  # noqa: S324 - Vonage's scheme
    return hmac.new(secret.encode(), signed.encode(), digest).hexdigest().upper()


def vonage_number(value: str) -> str:
    """A number as Vonage wants it (no leading "+"); an alphanumeric sender unchanged."""
    return value[1:] if value.startswith("+") else value


def e164(value: str) -> str:
    """A Vonage number (digits only) in E.164; anything else (a short code's letters, an
    alphanumeric sender) unchanged."""
    return f"+{value}" if value.isdigit() else value


def _without_gateway_sid(url: str) -> str:
    """The callback URL without our `smsgw_sid` parameter: `client-ref` carries it, and a
    GET receipt would otherwise mix our parameter with the ones Vonage signs."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k != GATEWAY_SID_PARAM]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _submit_result(response: requests.Response) -> VonageSubmitResult:
    status = response.status_code
    if status == 429:
        raise CarrierError(
            "vonage throttled the request",
            permanent=False,
            retry_after=retry_after(response.headers.get("Retry-After")),
        )
    if status in (401, 403):
        raise CarrierError(f"vonage rejected our credentials ({status})", permanent=False)
    if 400 <= status < 500:
        raise CarrierError(f"vonage refused the request ({status})", permanent=True)
    if not 200 <= status < 300:
        raise CarrierError(f"vonage answered {status}", permanent=False)
    parts = _parts(response)
    if parts is None:
        # Vonage said yes at the HTTP level but we cannot tell what it did: never resend.
        raise OutcomeUnknownError(f"vonage {status} without a readable messages list")
    accepted = [str(part.get("message-id") or "") for part in parts if _ok(part)]
    refused = [part for part in parts if not _ok(part)]
    if refused:
        raise _refusal(refused[0], accepted=len(accepted), total=len(parts))
    if not all(accepted):
        raise OutcomeUnknownError("vonage accepted the message without a message-id")
    return VonageSubmitResult(
        carrier_sid=accepted[0], carrier_status="accepted", message_ids=tuple(accepted)
    )


def _ok(part: Mapping[str, Any]) -> bool:
    return str(part.get("status")) == "0"


def _parts(response: requests.Response) -> list[dict[str, Any]] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    parts = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        return None
    return parts


def _refusal(part: Mapping[str, Any], *, accepted: int, total: int) -> CarrierError:
    code = str(part.get("status"))
    meaning, permanent = SUBMIT_STATUSES.get(int_or_none(code) or -1, ("Unknown status", True))
    text = str(part.get("error-text") or meaning)
    if accepted:
        # Some parts are on their way: sending again would repeat them.
        return CarrierError(
            f"vonage took {accepted} of {total} parts, refused the rest: {text}",
            permanent=True,
            code=code,
            carrier_message=text,
        )
    return CarrierError(
        f"vonage refused the message: {text}",
        permanent=permanent,
        code=code,
        carrier_message=text,
        about_carrier=None if not permanent else int_or_none(code) in CARRIER_REFUSALS,
    )


def _callback_params(request: CallbackRequest) -> dict[str, str]:
    """The callback's parameters: the query of a GET; the form or JSON body of a POST."""
    if request.method.upper() != "POST":
        return dict(request.query)
    content_type = (header(request.headers, "Content-Type") or "").lower()
    body = request.body or ""
    if content_type.startswith(_JSON_TYPES) or (not content_type and body.lstrip()[:1] == "{"):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise CallbackRejectedError("vonage callback body is not JSON") from exc
        if not isinstance(data, dict):
            raise CallbackRejectedError("vonage callback body is not a JSON object")
        return {str(k): _text(v) for k, v in data.items()}
    return dict(parse_qsl(body, keep_blank_values=True))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fresh(timestamp: str | None, now: float) -> bool:
    try:
        sent = float(timestamp or "")
    except ValueError:
        return False
    return abs(now - sent) <= SIGNATURE_MAX_AGE
