"""A certificate authority made for one carrier simulator run (End User Messaging's SNS).

`LocalAuthority` issues the SNS HTTPS server's certificate (for `sns.<region>.amazonaws.com`
and 127.0.0.1) and SNS's signing certificate. The local stack has the functions trust it,
as a private CA would be trusted (docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smsgw local stack"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


class LocalAuthority:
    """A certificate authority made for one simulator run: it issues the HTTPS server's
    certificate (for the SNS host name, and 127.0.0.1) and SNS's signing certificate.

    The certificates carry the extensions strict verifiers ask for (key identifiers, key
    usages, a critical basicConstraints), so Python's and OpenSSL's defaults accept them."""

    def __init__(self, name: str = "smsgw local CA") -> None:
        self._key = rsa_key()
        now = dt.datetime.now(dt.UTC)
        public = self._key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        """The CA certificate, to trust."""
        return pem(self.certificate)

    def issue(
        self,
        key: rsa.RSAPrivateKey,
        common_name: str,
        *,
        dns_names: tuple[str, ...] = (),
        addresses: tuple[str, ...] = (),
        not_valid_after: dt.datetime | None = None,
    ) -> x509.Certificate:
        """A leaf certificate for `key`, valid for a day unless `not_valid_after` says
        otherwise: a TLS server's when it has names (as SNS's signing certificate is),
        else a bare signer's."""
        now = dt.datetime.now(dt.UTC)
        until = not_valid_after or now + dt.timedelta(days=1)
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(now - dt.timedelta(minutes=5), until - dt.timedelta(days=1)))
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=bool(names),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(names), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(self._key, hashes.SHA256())
