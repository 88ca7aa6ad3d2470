"""Phone numbers, alphanumeric sender IDs, e-mail addresses and webhook URIs."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from smsgw.errors import ErrorCode, ValidationError

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]{1,11}")
_LETTER = re.compile(r"[A-Za-z]")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
MAX_URI_LENGTH = 2048


def parse_e164(value: str, parameter: str, code: ErrorCode) -> str:
    """A valid E.164 number (with `+`), normalised; otherwise a ValidationError."""
    import phonenumbers  # ~25 ms to import: only where numbers are parsed, not at cold start

    if not _E164.fullmatch(value):
        raise ValidationError(
            code,
            f"{parameter} must be a phone number in E.164 format, e.g. +61488023555.",
            parameter,
        )
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            code, f"{parameter} is not a valid phone number for any country.", parameter
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """The ISO region code of a valid E.164 number, e.g. "AU"."""
    import phonenumbers

    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))


def is_alphanumeric_sender_id(value: str) -> bool:
    """1-11 characters of A-Z, a-z, 0-9 and space, with at least one letter (the seed)."""
    return bool(_ALPHANUMERIC.fullmatch(value) and _LETTER.search(value))


@cache
def _alphanumeric_unsupported_regions() -> frozenset[str]:
    data = resources.files("smsgw.data").joinpath("alphanumeric_unsupported.json").read_text()
    return frozenset(json.loads(data)["regions"])


def supports_alphanumeric(recipient_e164: str) -> bool:
    """Whether operators in the recipient's country accept an alphanumeric sender ID."""
    return region_of(recipient_e164) not in _alphanumeric_unsupported_regions()


def validate_email(value: str, parameter: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationError(
            ErrorCode.FORWARD_EMAIL_INVALID,
            f"{parameter} must be an e-mail address such as name@example.com.",
            parameter,
        )
    return value


def validate_webhook_uri(
    value: str,
    parameter: str,
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
) -> str:
    """An absolute http(s) URI whose host is not a literal internal address.

    Host names are resolved and checked again when the webhook is delivered.
    """
    problem = _uri_problem(value, allowed_networks)
    if problem:
        raise ValidationError(ErrorCode.WEBHOOK_URI_INVALID, f"{parameter} {problem}.", parameter)
    return value


def _uri_problem(value: str, allowed_networks) -> str | None:
    if len(value) > MAX_URI_LENGTH:
        return f"must be at most {MAX_URI_LENGTH} characters"
    if any(c.isspace() or ord(c) < 0x20 for c in value):
        return "must not contain white space or control characters"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "is not a valid URI"
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URI"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials in the URI"
    if is_internal_address(parts.hostname, allowed_networks):
        return "must not point at a loopback, private, link-local or metadata address"
    return None


def is_internal_address(host: str, allowed_networks=()) -> bool:
    """True for an IP literal (or `localhost`) that a webhook must never reach. IPv4 in the
    other forms the C resolver accepts (2130706433, 0x7f000001, 0177.0.0.1, 127.1) and a
    trailing dot name the address they spell, so they are judged as that address."""
    host = host.strip("[]").rstrip(".").lower()
    if host in ("localhost", "localhost.localdomain"):
        host = "127.0.0.1"
    address = _ip_literal(host)
    if address is None:
        return False
    if any(address in network for network in allowed_networks):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and (not embedded.is_global or embedded.is_multicast):
            return True
    return not address.is_global or address.is_multicast


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d,
    or NAT64 64:ff9b::a.b.c.d), which is where a packet to it may end up."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None
