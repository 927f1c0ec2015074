"""Real registries on loopback for the oci and trust tests, without the rest of the kit.

The kit's four registries (`wasmgate_kit.registries.start_registries`: go-containerregistry's
registry with the referrers API and Debian's docker-registry without it, each anonymous and
behind htpasswd), plus two the kit does not need: docker-registry behind a bearer token server
and behind TLS with a private CA. Nothing here imitates a registry.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from support.registries import LocalRegistry, kit_registries
from wasmgate_kit.build import binary_path
from wasmgate_kit.errors import KitError
from wasmgate_kit.net import free_port
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.registries import start_registries

USER = "plugin-author"
DER = serialization.Encoding.DER


def find_binary(name: str) -> Path:
    """The pinned kit build of `name` (the one `make kit` made), or fail saying how to get it.

    Never a binary found on PATH or in a hand-made directory: a fresh machine has neither, so a
    test that found one here would hide a missing build step.
    """
    try:
        return binary_path(name)
    except KitError as e:
        pytest.fail(e.message)


def distribution_registry(
    root: Path,
    name: str,
    auth: dict[str, Any] | None = None,
    tls: tuple[Path, Path] | None = None,
    middleware: dict[str, Any] | None = None,
) -> LocalRegistry:
    """A Debian docker-registry 2.8 (no referrers API) with the given auth, TLS or middleware
    section, which the kit's registries lack; call `start()` on it."""
    storage = root / name
    storage.mkdir(parents=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if auth:
        config["auth"] = auth
    if middleware:
        config["middleware"] = middleware
    if tls:
        config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    config_path = root / f"{name}.yml"
    config_path.write_text(yaml.safe_dump(config))
    argv: list[str | Path] = [find_binary("docker-registry"), "serve", config_path]
    process = ManagedProcess(f"registry-{name}", argv, root / f"{name}.log")
    registry = LocalRegistry(name, f"127.0.0.1:{port}", storage, False, process=process)
    if tls:
        registry.scheme = "https"
    return registry


# -- a private CA, for TLS and for signing registry tokens -------------------------------------


@dataclass
class TestCA:
    """A throwaway CA that issues the TLS certificate and signs registry tokens."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    cert_file: Path

    @classmethod
    def create(cls, root: Path) -> TestCA:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wasmgate test CA")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        cert_file = root / "ca.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert, cert_file)

    def server_cert(self, root: Path) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = root / "server.pem", root / "server.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """The token endpoint of the distribution auth spec: checks a login, issues an ES256 JWT
    (with the CA certificate in `x5c`) that docker-registry verifies itself."""

    service = "wasmgate-test-registry"
    issuer = "wasmgate-test-token-server"

    def __init__(self, ca: TestCA, password: str) -> None:
        self.ca = ca
        self.password = password
        self.requests: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                server.requests.append(query)
                expected = base64.b64encode(f"{USER}:{server.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": server.token(query.get("scope", []))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                # The OAuth2 refresh-token form docker clients use with an identity token.
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                server.requests.append(form)
                if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [
                    server.password
                ]:
                    self.send_response(401)
                    self.end_headers()
                    return
                scopes = [s for scope in form.get("scope", []) for s in scope.split(" ")]
                body = json.dumps({"access_token": server.token(scopes)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self.ca.cert.public_bytes(DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": USER,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        encoded = [_b64url(json.dumps(part).encode()) for part in (header, claims)]
        signing_input = ".".join(encoded)
        der = self.ca.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Registries:
    """Every registry the oci and trust tests use, by name."""

    by_name: dict[str, LocalRegistry]
    ca: TestCA
    token_server: TokenServer

    def __getitem__(self, name: str) -> LocalRegistry:
        return self.by_name[name]


def start_all(root: Path) -> Iterator[Registries]:
    """Start every registry; yield; stop them."""
    root.mkdir(parents=True, exist_ok=True)
    ca = TestCA.create(root)
    token_password = secrets.token_urlsafe(12)
    token_server = TokenServer(ca, token_password)
    started: dict[str, LocalRegistry] = {}
    try:
        kit, processes = start_registries(root / "kit", binary_path)
        started.update(kit_registries(kit, processes))
        token = {
            "token": {
                "realm": token_server.realm,
                "service": TokenServer.service,
                "issuer": TokenServer.issuer,
                "rootcertbundle": str(ca.cert_file),
            }
        }
        registry = distribution_registry(root, "distribution-token", auth=token)
        registry.username, registry.password = USER, token_password
        started[registry.name] = registry
        registry.start()
        registry = distribution_registry(root, "distribution-tls", tls=ca.server_cert(root))
        registry.ca_file = ca.cert_file
        started[registry.name] = registry
        registry.start()
        yield Registries(started, ca, token_server)
    finally:
        for registry in started.values():
            if registry.process is not None:
                registry.stop()
        token_server.close()
