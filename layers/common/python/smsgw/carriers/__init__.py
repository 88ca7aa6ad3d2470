"""Carrier adapters; `Carriers` builds the ones a deployment uses (docs/carriers.md).

The deployment names its carrier (the `Carrier` template parameter), the default route;
routes by destination prefix may name others, in order (smsgw.logic.routing); a leased
number's pool item may name its own, which then sends it alone. Credentials are one JSON secret in Secrets Manager, read
through Powertools Parameters (smsgw.dal.secrets): either the deployment carrier's keys at the top level
(`{"AccountSid": ..., "AuthToken": ...}`), or an object per carrier name
(`{"twilio": {...}, "vonage": {...}, "eum": {...}}`), or both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from smsgw.logic.ports import Carrier
from smsgw.logic.routing import Routes, route_for
from smsgw.models.carrier import CarrierError

CARRIER_NAMES = ("twilio", "vonage", "eum")


class CarrierNotConfiguredError(LookupError):
    """No adapter by that name, or no credentials for it in the carrier secret."""


def credentials_for(
    secret: Mapping[str, Any], name: str, deployment_carrier: str
) -> dict[str, Any] | None:
    """The keys of one carrier in the carrier secret: its own object, else (for the
    deployment's carrier only) the top-level keys; None when the secret has none."""
    nested = secret.get(name)
    if isinstance(nested, Mapping):
        return dict(nested)
    if name == deployment_carrier:
        flat = {key: value for key, value in secret.items() if not isinstance(value, Mapping)}
        return flat or None
    return None


REQUIRED_KEYS = {
    "twilio": ("AccountSid", "AuthToken"),
    "vonage": ("ApiKey", "ApiSecret"),
    "eum": (),
}
"""The keys each carrier cannot send without (End User Messaging signs with the function's
role: its keys are all optional)."""
_FLAT_MARKERS = {"twilio": "AccountSid", "vonage": "ApiKey", "eum": "OriginationIdentity"}


def configured_carriers(secret: Mapping[str, Any]) -> tuple[str, ...]:
    """The carriers the carrier secret holds credentials for: an object under the
    carrier's name, or the carrier's own keys at the top level (the deployment's), with
    every required key set (a placeholder left empty is not a credential)."""
    found = []
    for name in CARRIER_NAMES:
        nested = secret.get(name)
        keys = nested if isinstance(nested, Mapping) else None
        if keys is None and _FLAT_MARKERS[name] in secret:
            keys = secret
        if keys is not None and all(keys.get(key) for key in REQUIRED_KEYS[name]):
            found.append(name)
    return tuple(found)


def build_carrier(name: str, credentials: Mapping[str, Any], timeout_seconds: float) -> Carrier:
    """The adapter `name` with its credentials (the keys docs/carriers.md lists)."""
    from smsgw.observability import tracer

    if name == "twilio":
        from smsgw.carriers.twilio import TwilioCarrier

        tracer.patch(["requests"])
        return TwilioCarrier(
            credentials["AccountSid"],
            credentials["AuthToken"],
            credentials.get("BaseUrl") or "https://api.twilio.com",
            read_timeout=timeout_seconds,
        )
    if name == "vonage":
        from smsgw.carriers.vonage import VonageCarrier

        tracer.patch(["requests"])
        return VonageCarrier(
            credentials["ApiKey"],
            credentials["ApiSecret"],
            signature_secret=credentials.get("SignatureSecret") or None,
            signature_method=credentials.get("SignatureMethod") or "md5hash",
            base_url=credentials.get("BaseUrl") or "https://rest.nexmo.com",
            read_timeout=timeout_seconds,
        )
    if name == "eum":
        from smsgw.carriers import eum

        return eum.EndUserMessagingCarrier(
            eum.sms_voice(timeout_seconds, credentials.get("EndpointUrl") or None),
            origination_identity=credentials.get("OriginationIdentity") or "",
            configuration_set=credentials.get("ConfigurationSetName") or None,
            topic_arns=_names(credentials.get("TopicArns")),
        )
    raise CarrierNotConfiguredError(f"unknown carrier {name!r}")


def _names(value: Any) -> list[str]:
    """A list of names from a JSON list or a comma-separated string (one ARN given as a
    plain string must not become a set of its characters)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value or ()]


class Carriers:
    """Every adapter the deployment can use, each built once, on first use."""

    def __init__(
        self,
        deployment_carrier: str,
        secret: Callable[[], Mapping[str, Any]],
        timeout_seconds: float,
        *,
        pool_carrier: Callable[[str], str | None] | None = None,
        routes: Callable[[], Routes] | None = None,
    ) -> None:
        """`secret` reads the carrier secret; `pool_carrier` names the carrier of a pool
        number (None when the number is not in the pool or names none); `routes` reads the
        routes (prefix → carrier names; cached by the caller)."""
        self.deployment_carrier = deployment_carrier
        self._secret = secret
        self._timeout = timeout_seconds
        self._pool_carrier = pool_carrier
        self._routes = routes
        self._built: dict[str, Carrier] = {}
        self._lock = threading.Lock()

    @property
    def default(self) -> Carrier:
        return self.get(self.deployment_carrier)

    def get(self, name: str) -> Carrier:
        """The adapter `name`. Raises CarrierNotConfiguredError when the name is unknown or
        the secret holds no credentials for it."""
        name = name.lower()
        with self._lock:
            built = self._built.get(name)
            if built is not None:
                return built
            if name not in CARRIER_NAMES:
                raise CarrierNotConfiguredError(f"unknown carrier {name!r}")
            credentials = credentials_for(self._secret(), name, self.deployment_carrier)
            if credentials is None:
                raise CarrierNotConfiguredError(f"no credentials for carrier {name!r}")
            try:
                built = build_carrier(name, credentials, self._timeout)
            except KeyError as exc:
                raise CarrierNotConfiguredError(
                    f"the carrier secret's {name} credentials lack {exc}"
                ) from exc
            self._built[name] = built
            return built

    def carrier_name_for(self, sender: str | None, leased: bool) -> str:
        """The carrier that sends from `sender`: a leased number's pool carrier when the
        pool names one, else the deployment's."""
        if leased and sender and self._pool_carrier is not None:
            return self._pool_carrier(sender) or self.deployment_carrier
        return self.deployment_carrier

    def route_for(self, to: str, sender: str | None, leased: bool) -> tuple[str, ...]:
        """The carriers that may send a message to `to` from `sender`, first choice first:
        a leased number's pool carrier alone (replies come back there), else the route of
        `to`'s longest matching prefix, the default route, or the deployment's carrier."""
        if leased:
            return (self.carrier_name_for(sender, leased),)
        routes = self._routes() if self._routes is not None else {}
        return route_for(routes, to, self.deployment_carrier)

    def adapter(self, name: str) -> Carrier:
        """The adapter `name`. Raises CarrierError (not permanent: it clears once the
        operator adds the credentials; nothing was sent) when it is not configured."""
        try:
            return self.get(name)
        except CarrierNotConfiguredError as exc:
            raise CarrierError(f"carrier {name} is not configured: {exc}", permanent=False) from exc
