from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509

from wasmgate_admission.certificates import (
    CA_VALIDITY,
    SERVING_RENEW_BEFORE,
    SERVING_VALIDITY,
    ensure_certificates,
)

HOSTS = ("127.0.0.1", "wasmgate-webhook.wasmgate-system.svc")
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_first_call_creates_ca_and_serving_certificate(tmp_path: Path) -> None:
    certs = ensure_certificates(tmp_path, HOSTS, NOW)
    assert (certs.ca_changed, certs.cert_changed) == (True, True)
    ca, serving = _cert(certs.ca), _cert(certs.cert)
    assert serving.issuer == ca.subject
    san = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["wasmgate-webhook.wasmgate-system.svc"]
    assert ca.not_valid_after_utc > NOW + CA_VALIDITY - datetime.timedelta(days=1)
    assert serving.not_valid_after_utc > NOW + SERVING_VALIDITY - datetime.timedelta(days=1)
    assert certs.key.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("later", "hosts", "ca_changed", "cert_changed"),
    [
        (datetime.timedelta(days=1), HOSTS, False, False),
        (SERVING_VALIDITY - SERVING_RENEW_BEFORE + datetime.timedelta(days=1), HOSTS, False, True),
        (datetime.timedelta(days=1), ("127.0.0.1",), False, True),
        (CA_VALIDITY, HOSTS, True, True),
    ],
    ids=["fresh_is_kept", "serving_near_expiry_rotates", "hosts_changed", "ca_near_expiry"],
)
def test_second_call_rotates_only_what_is_due(
    tmp_path: Path,
    later: datetime.timedelta,
    hosts: tuple[str, ...],
    ca_changed: bool,
    cert_changed: bool,
) -> None:
    first = ensure_certificates(tmp_path, HOSTS, NOW)
    before = first.cert.read_bytes(), first.ca.read_bytes()
    second = ensure_certificates(tmp_path, hosts, NOW + later)
    assert (second.ca_changed, second.cert_changed) == (ca_changed, cert_changed)
    assert (second.cert.read_bytes() != before[0]) is cert_changed
    assert (second.ca.read_bytes() != before[1]) is ca_changed
    assert _cert(second.cert).issuer == _cert(second.ca).subject


def test_a_tls_client_trusting_the_ca_accepts_the_server(tmp_path: Path) -> None:
    certs = ensure_certificates(tmp_path, HOSTS)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certs.cert, certs.key)
    client_context = ssl.create_default_context(cafile=str(certs.ca))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with server_context.wrap_socket(connection, server_side=True) as tls:
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.recv(2) == b"ok"
    thread.join()
    listener.close()


def test_no_hosts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one host"):
        ensure_certificates(tmp_path, ())


def test_a_serving_certificate_of_another_ca_with_the_same_name_is_reissued(
    tmp_path: Path,
) -> None:
    # Another replica's CA (same subject name) replaces ours: the serving certificate must follow.
    ensure_certificates(tmp_path, HOSTS, NOW)
    other = tmp_path / "other"
    ensure_certificates(other, HOSTS, NOW)
    for name in ("ca.pem", "ca-key.pem"):
        (tmp_path / name).write_bytes((other / name).read_bytes())
    certs = ensure_certificates(tmp_path, HOSTS, NOW + datetime.timedelta(days=1))
    assert (certs.ca_changed, certs.cert_changed) == (False, True)
    _cert(certs.cert).verify_directly_issued_by(_cert(other / "ca.pem"))
