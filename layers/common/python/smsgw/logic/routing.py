"""Routes: which carriers a message goes to, in order, by its destination (docs/carriers.md,
"Routes").

A route maps a destination prefix (`+61`, `+1`, `+4477`: a calling code or longer) or
`default` to an ordered list of carrier names. The longest prefix of the destination
wins; without one, the `default` route; without that, the deployment's `Carrier`. So a
stack with no routes sends as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from smsgw.errors import ErrorCode, ValidationError

DEFAULT_ROUTE = "default"
MAX_PREFIX_DIGITS = 15
"""E.164's longest number: a longer prefix can match nothing."""

Routes = Mapping[str, Sequence[str]]
"""Prefix (or `default`) → carrier names, first choice first."""


def route_for(routes: Routes, to: str, deployment_carrier: str) -> tuple[str, ...]:
    """The carriers that may send to `to`, in order: the longest matching prefix's route,
    else the default route, else the deployment's carrier alone."""
    best = max(
        (prefix for prefix in routes if prefix != DEFAULT_ROUTE and to.startswith(prefix)),
        key=len,
        default=None,
    )
    carriers = routes.get(best or DEFAULT_ROUTE) or (deployment_carrier,)
    return tuple(carriers)


def checked_prefix(prefix: str) -> str:
    """A route's prefix as stored: `default`, or `+` and 1 to 15 digits. Raises
    ValidationError otherwise."""
    value = prefix.strip()
    if value.lower() == DEFAULT_ROUTE:
        return DEFAULT_ROUTE
    digits = value.removeprefix("+")
    if not value.startswith("+") or not digits.isdigit() or len(digits) > MAX_PREFIX_DIGITS:
        raise ValidationError(
            ErrorCode.CARRIER_ROUTE_INVALID,
            f"A route's prefix is `default` or + and 1 to {MAX_PREFIX_DIGITS} digits "
            f"(a calling code such as +61, or longer); {prefix!r} is neither.",
            "Prefix",
        )
    return "+" + digits


def checked_carriers(names: Iterable[str], usable: Iterable[str]) -> tuple[str, ...]:
    """A route's carriers, in order, each named once and each one of `usable` (the known
    carriers with credentials in the carrier secret). Raises ValidationError otherwise."""
    allowed = tuple(usable)
    carriers = tuple(name.strip().lower() for name in names if name.strip())
    if not carriers:
        raise ValidationError(
            ErrorCode.CARRIER_ROUTE_INVALID, "A route names one carrier or more.", "Carriers"
        )
    if len(set(carriers)) != len(carriers):
        raise ValidationError(
            ErrorCode.CARRIER_ROUTE_INVALID, "A route names each carrier once.", "Carriers"
        )
    unusable = [name for name in carriers if name not in allowed]
    if unusable:
        raise ValidationError(
            ErrorCode.CARRIER_ROUTE_INVALID,
            f"Carrier {unusable[0]!r} cannot be routed to: the carriers with credentials in "
            f"the carrier secret are {', '.join(allowed) or 'none'}.",
            "Carriers",
        )
    return carriers
