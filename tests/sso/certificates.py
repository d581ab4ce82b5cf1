"""Throw-away certificates for the test servers (slapd's CA and server certificate,
the SAML IdP's signing pair): good from five minutes ago for a day."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import NameOID


def common_name(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def certificate(
    subject: str,
    public_key: CertificatePublicKeyTypes,
    issuer: str,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    *extensions: tuple[x509.ExtensionType, bool],
) -> x509.Certificate:
    """`subject`'s certificate for `public_key`, signed by `issuer` with `issuer_key`;
    `extensions` as (extension, critical)."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(common_name(subject))
        .issuer_name(common_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pem(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def write_key(path: Path, key: PrivateKeyTypes, key_format: serialization.PrivateFormat) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption())
    )
