"""Whether an SNS signing certificate is SNS's: issued through a CA we trust, valid now.

Where the certificate was fetched from (`https://sns.<region>.amazonaws.com/…pem`, checked
in `eum.py`) says nothing about who issued it, so the certificate is also path-validated
with `cryptography.x509.verification` against the CAs `requests` trusts:
`REQUESTS_CA_BUNDLE` when set (the local stack adds its simulator's CA there), else
certifi's bundle. The store is read once per process, on the first SNS message.

The policy. SNS's signing certificates are Amazon Trust Services certificates of the
kind a TLS server has: key usage digitalSignature and keyEncipherment, extended key usage
serverAuth only (no clientAuth), a subjectAltName, issued by an intermediate (`Amazon RSA
2048 M0x`) that the PEM does not include. So the chain is built with the web PKI's
extension rules (`webpki_defaults_ee` / `_ca`) through the client verifier, whose policy
binds no host name: the certificate's name is `sns.amazonaws.com` in most regions and
`sns-signing.<region>.amazonaws.com` or others elsewhere, while the host that served it is
the URL's. The client verifier would require clientAuth, which these certificates lack;
its extended-key-usage rule is replaced by "serverAuth, when the extension is present" (on
CAs anyExtendedKeyUsage too). The missing intermediate is fetched from the certificate's
AIA caIssuers URL, only on an Amazon Trust Services host (`*.amazontrust.com`); it is
trusted only if it chains to the store like the rest.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from smsgw.warm import warm

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from cryptography.x509.verification import Store

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_ISSUER_HOST = re.compile(r"([a-z0-9-]+\.)+amazontrust\.com")


class UntrustedCertificateError(Exception):
    """The signing certificate is not one SNS's CA issued, or not valid now."""


@warm
def trust_store() -> Store:
    """The CAs `requests` trusts (`REQUESTS_CA_BUNDLE`, else certifi's bundle), read once.
    A certificate in the bundle that `cryptography` cannot load is left out; one it loads
    with a deprecation warning (an old root's non-positive serial number) is kept, quietly:
    the warning is about the bundle, not about a message."""
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning
    from cryptography.x509.verification import Store
    from requests.certs import where

    with open(os.environ.get("REQUESTS_CA_BUNDLE") or where(), "rb") as bundle:
        blocks = _PEM_BLOCK.findall(bundle.read())
    roots = []
    for block in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return Store(roots)


def verified_signing_certificate(
    pem: bytes,
    fetch: Callable[[str], bytes],
    store: Store,
    now: dt.datetime | None = None,
) -> Certificate:
    """The first certificate in `pem`, once it chains (through the others in `pem`, or
    its AIA issuer fetched with `fetch`) to a CA in `store` and is valid at `now`.
    Raises UntrustedCertificateError otherwise, and ValueError for a PEM without one."""
    from cryptography import x509
    from cryptography.x509.verification import VerificationError

    leaf, *intermediates = x509.load_pem_x509_certificates(pem)
    when = now or dt.datetime.now(dt.UTC)
    try:
        _verify(leaf, intermediates, store, when)
    except VerificationError as first:
        issuer = _aia_issuer(leaf, fetch)
        if issuer is None:
            raise UntrustedCertificateError(str(first)) from first
        try:
            _verify(leaf, [*intermediates, issuer], store, when)
        except VerificationError as exc:
            raise UntrustedCertificateError(str(exc)) from exc
    return leaf


def valid_at(certificate: Certificate, now: dt.datetime | None = None) -> bool:
    """True while `now` is within the certificate's validity (a cached one expires too)."""
    when = now or dt.datetime.now(dt.UTC)
    return certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc


def _verify(
    leaf: Certificate, intermediates: Sequence[Certificate], store: Store, now: dt.datetime
) -> None:
    from cryptography import x509
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder

    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _leaf_usage
    )
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _ca_usage
    )
    builder = PolicyBuilder().store(store).time(now).extension_policies(ca_policy=ca, ee_policy=ee)
    builder.build_client_verifier().verify(leaf, list(intermediates))


def _leaf_usage(_policy: object, _certificate: object, usage: object) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if usage is not None and ExtendedKeyUsageOID.SERVER_AUTH not in usage:  # type: ignore[operator]
        raise ValueError("the signing certificate's extended key usage lacks serverAuth")


def _ca_usage(_policy: object, _certificate: object, usage: object) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    allowed = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)
    if usage is not None and not any(oid in usage for oid in allowed):  # type: ignore[operator]
        raise ValueError("an issuing CA's extended key usage lacks serverAuth")


def _aia_issuer(leaf: Certificate, fetch: Callable[[str], bytes]) -> Certificate | None:
    """The issuer the leaf's AIA caIssuers URL serves (DER or PEM), when that URL is on an
    Amazon Trust Services host; None when there is none."""
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    try:
        access = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except x509.ExtensionNotFound:
        return None
    for description in access.value:
        url = description.access_location.value
        if description.access_method != AuthorityInformationAccessOID.CA_ISSUERS or not (
            url_on_host(url, _ISSUER_HOST, schemes=("http", "https"))
        ):
            continue
        data = fetch(url)
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    return None


def url_on_host(
    url: Any, host: re.Pattern[str], *, schemes: Sequence[str], suffix: str = ""
) -> bool:
    """True for a URL with one of `schemes`, its default port, no user, a host matching
    `host` and a path ending in `suffix`."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in schemes
        and port in (None, {"http": 80, "https": 443}.get(parts.scheme))
        and parts.username is None
        and bool(host.fullmatch(parts.hostname or ""))
        and parts.path.endswith(suffix)
    )
