"""The webhook's own TLS: a self-signed CA and a serving certificate, created and rotated.

The apiserver trusts the webhook through the caBundle of the ValidatingWebhookConfiguration, so
the CA lives long (ten years) and only the serving certificate rotates (90 days, renewed 30 days
before expiry). kopf's WebhookServer watches the certificate files and restarts its listener when
they change, so rotation needs no operator restart; a new CA also means a new caBundle, which the
caller applies (`Certificates.ca_changed`).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wasmgate_admission.key_files import make_private_directory, write_atomically

CA_VALIDITY = datetime.timedelta(days=3650)
CA_RENEW_BEFORE = datetime.timedelta(days=365)
SERVING_VALIDITY = datetime.timedelta(days=90)
SERVING_RENEW_BEFORE = datetime.timedelta(days=30)
# Tolerates clocks of the apiserver a little behind ours.
BACKDATE = datetime.timedelta(minutes=5)
CA_NAME = "wasmgate admission CA"


@dataclass(frozen=True)
class Certificates:
    """Paths of the PEM files, and what this call changed."""

    ca: Path
    cert: Path
    key: Path
    ca_changed: bool
    cert_changed: bool


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _still_valid(path: Path, now: datetime.datetime, renew_before: datetime.timedelta) -> bool:
    if not path.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - renew_before > now


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _serving_matches(cert_path: Path, ca: x509.Certificate, hosts: Sequence[str]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        # Every wasmgate CA has the same name: only the signature tells whether this CA (say,
        # one another replica shared) issued the serving certificate.
        cert.verify_directly_issued_by(ca)
    except (x509.ExtensionNotFound, ValueError, TypeError, InvalidSignature):
        return False
    return set(san) == set(_san(hosts))


def _issue_ca(directory: Path, now: datetime.datetime) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .sign(key, hashes.SHA256())
    )
    write_atomically(directory / "ca-key.pem", _key_pem(key), private=True)
    write_atomically(
        directory / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), private=False
    )
    return cert


def _issue_serving(
    directory: Path, ca: x509.Certificate, hosts: Sequence[str], now: datetime.datetime
) -> None:
    ca_key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + SERVING_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(hosts), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # The key first: kopf reloads when the certificate changes and must find the matching key.
    write_atomically(directory / "tls.key", _key_pem(key), private=True)
    write_atomically(
        directory / "tls.crt", cert.public_bytes(serialization.Encoding.PEM), private=False
    )


def ensure_certificates(
    directory: Path, hosts: Sequence[str], now: datetime.datetime | None = None
) -> Certificates:
    """Create or renew the CA and serving certificate in `directory`; report what changed."""
    if not hosts:
        raise ValueError("the serving certificate needs at least one host name or address")
    now = now or datetime.datetime.now(datetime.UTC)
    make_private_directory(directory)
    ca_path, cert_path = directory / "ca.pem", directory / "tls.crt"
    ca_changed = not (
        _still_valid(ca_path, now, CA_RENEW_BEFORE) and (directory / "ca-key.pem").exists()
    )
    if ca_changed:
        ca = _issue_ca(directory, now)
    else:
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    cert_changed = (
        ca_changed
        or not _still_valid(cert_path, now, SERVING_RENEW_BEFORE)
        or not (directory / "tls.key").exists()
        or not _serving_matches(cert_path, ca, hosts)
    )
    if cert_changed:
        _issue_serving(directory, ca, hosts, now)
    return Certificates(
        ca=ca_path,
        cert=cert_path,
        key=directory / "tls.key",
        ca_changed=ca_changed,
        cert_changed=cert_changed,
    )
