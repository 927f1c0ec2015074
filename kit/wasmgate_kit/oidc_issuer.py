"""A tiny OpenID Connect issuer for test identities, so keyless signing works without the internet.

Fulcio turns an OIDC token into a certificate; in the kit the tokens come from here. One process
serves several issuers under path prefixes (`http://127.0.0.1:<port>/<name>`), each with its own
discovery document and JWKS (one RSA key shared by all: the issuers differ by URL, which is what
certificates record). `GET /<name>/token?subject=alice@example.test` returns a signed ID token
for that subject, with no authentication at all: this is a test issuer on loopback, never
something to expose. RS256 because it is what every OIDC verifier accepts by default.

Run as `python -m wasmgate_kit.oidc_issuer --port P --key key.pem --issuer a --issuer b`.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wasmgate_kit.net import LOOPBACK

TOKEN_LIFETIME_SECONDS = 600
# Fulcio's issuer configuration names the client ID it expects as the token's audience.
DEFAULT_AUDIENCE = "sigstore"
KEY_ID = "wasmgate-kit"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def generate_key(path: Path) -> None:
    """Write a fresh RSA signing key (PKCS#8 PEM, mode 0600)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: the issuer signs with RS256 and needs an RSA key")
    return key


def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": KEY_ID,
                "n": _int_b64url(numbers.n),
                "e": _int_b64url(numbers.e),
            }
        ]
    }


def discovery(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
        "token_endpoint": f"{issuer}/token",
        "authorization_endpoint": f"{issuer}/authorize",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "email", "email_verified", "iss", "aud"],
    }


def id_token(
    key: rsa.RSAPrivateKey,
    issuer: str,
    subject: str,
    audience: str = DEFAULT_AUDIENCE,
    now: float | None = None,
) -> str:
    """A signed ID token naming `subject` as both `sub` and a verified `email`."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "email": subject,
        "email_verified": True,
        "iat": issued,
        "nbf": issued - 5,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def _handler(
    key: rsa.RSAPrivateKey, names: frozenset[str], port: int
) -> type[BaseHTTPRequestHandler]:
    keys = json.dumps(jwks(key)).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            print(f"oidc-issuer: {format % args}", flush=True)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            name, _, rest = url.path.strip("/").partition("/")
            if name not in names:
                self._send(404, b"unknown issuer\n", "text/plain")
                return
            issuer = f"http://{LOOPBACK}:{port}/{name}"
            if rest == ".well-known/openid-configuration":
                self._send(200, json.dumps(discovery(issuer)).encode(), "application/json")
            elif rest == "jwks":
                self._send(200, keys, "application/json")
            elif rest == "token":
                query = parse_qs(url.query)
                subject = query.get("subject", [""])[0]
                audience = query.get("audience", [DEFAULT_AUDIENCE])[0]
                if not subject:
                    self._send(400, b"token: add ?subject=<email>\n", "text/plain")
                    return
                token = id_token(key, issuer, subject, audience)
                self._send(200, token.encode(), "application/jwt")
            else:
                self._send(404, b"not found\n", "text/plain")

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True, help="RSA private key (PEM)")
    parser.add_argument("--issuer", action="append", required=True, help="issuer path name")
    args = parser.parse_args(argv)
    handler = _handler(load_key(args.key), frozenset(args.issuer), args.port)
    server = ThreadingHTTPServer((LOOPBACK, args.port), handler)
    print(f"oidc-issuer: serving {', '.join(args.issuer)} on {LOOPBACK}:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
