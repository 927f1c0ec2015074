"""Answer a registry's 401 challenge with basic credentials or a bearer token.

The distribution token flow: the registry names a realm (token server), a service and a scope;
we ask the realm for a token, sending our login there (or a refresh token through the OAuth2
form), then retry with `Authorization: Bearer`. Tokens are cached per scope for the life of
one client, which is one resolve or one verification.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from wasmgate.errors import RegistryAuthFailed
from wasmgate.oci.challenge import Challenge
from wasmgate.oci.credentials import Credential

# A function that sends a request with the transport's checks (SSRF, TLS, plain-http list).
Sender = Callable[..., requests.Response]
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024


class Authenticator:
    """Holds the Authorization header for a registry and renews it when challenged."""

    def __init__(self, registry: str, credential: Credential | None, send: Sender) -> None:
        self._registry = registry
        self._credential = credential
        self._send = send
        self._basic: str | None = None
        self._tokens: dict[str, str] = {}
        self._bearer = False

    def __repr__(self) -> str:
        return f"Authenticator(registry={self._registry!r}, has_credential={self.has_credential})"

    @property
    def has_credential(self) -> bool:
        """Whether a pull secret gave us anything to answer a challenge with."""
        c = self._credential
        return bool(c and (c.username or c.identity_token or c.registry_token))

    def header(self, scope: str) -> dict[str, str]:
        """The Authorization header to send proactively for this scope, if we have one."""
        if self._bearer and scope in self._tokens:
            return {"Authorization": f"Bearer {self._tokens[scope]}"}
        if self._basic:
            return {"Authorization": f"Basic {self._basic}"}
        return {}

    def answer(self, challenge: Challenge | None, scope: str, what: str) -> bool:
        """Prepare credentials for a retry; False when we have nothing new to offer."""
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            c = self._credential
            if not c or not c.username or self._basic:
                return False
            self._basic = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
            return True
        if challenge.scheme == "bearer":
            if self._bearer and scope in self._tokens:
                return False
            self._tokens[scope] = self._fetch_token(challenge, scope, what)
            self._bearer = True
            return True
        return False

    def _fetch_token(self, challenge: Challenge, scope: str, what: str) -> str:
        realm = challenge.params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryAuthFailed(
                f"{what}: registry {self._registry} asked for a bearer token but named no usable "
                f'token realm ("{realm}")'
            )
        c = self._credential
        if c and c.registry_token:
            return c.registry_token
        # Ask for what we need (the challenge to a HEAD names only "pull", a push needs more),
        # plus whatever else the challenge names.
        scopes = [scope]
        if challenge.params.get("scope", scope) != scope:
            scopes.append(challenge.params["scope"])
        params: dict[str, str | list[str]] = {"scope": scopes}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        if c and c.identity_token:
            form = {
                "scope": " ".join(scopes),
                "service": challenge.params.get("service", ""),
                "grant_type": "refresh_token",
                "refresh_token": c.identity_token,
                "client_id": "wasmgate",
            }
            response = self._send("POST", realm, data=form)
        else:
            headers = {}
            if c and c.username:
                login = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
                headers["Authorization"] = f"Basic {login}"
            response = self._send("GET", realm, params=params, headers=headers)
        with response:
            if response.status_code in (401, 403):
                raise RegistryAuthFailed(
                    f"{what}: the token server of {self._registry} refused "
                    + (
                        "our credentials; check the pull secret"
                        if self.has_credential
                        else "anonymous access; set spec.source.pullSecretRef"
                    )
                    + f" (HTTP {response.status_code})"
                )
            body = response.raw.read(MAX_TOKEN_RESPONSE_BYTES + 1, decode_content=True)
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        token = None
        if isinstance(document, dict):
            token = document.get("token") or document.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise RegistryAuthFailed(
                f"{what}: the token server of {self._registry} gave no token "
                f"(HTTP {response.status_code})"
            )
        return token
