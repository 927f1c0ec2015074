"""Registry credentials from `kubernetes.io/dockerconfigjson` Secrets, never printed.

Users already have pull secrets for their images; accepting the same format means no new secret
type to learn. Lookup follows kubelet: an entry may name a host or a host/path prefix, and the
longest match wins.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wasmgate.errors import InvalidSpec
from wasmgate.oci.reference import normalize_registry

DOCKERCONFIG_KEY = ".dockerconfigjson"


@dataclass(frozen=True)
class Credential:
    """One registry login. Secrets are excluded from repr and equality is by value."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    """A refresh token for the OAuth2 token endpoint (`identitytoken` in docker config)."""
    registry_token: str = field(default="", repr=False)
    """A bearer token sent as is (`registrytoken` in docker config)."""


@dataclass(frozen=True)
class Credentials:
    """Credentials keyed by `host` or `host/path` prefix."""

    entries: Mapping[str, Credential] = field(default_factory=dict)

    def for_repository(self, registry: str, repository: str) -> Credential | None:
        """The credential of the longest entry that is a prefix of registry/repository."""
        name = f"{normalize_registry(registry)}/{repository}"
        best: tuple[int, Credential] | None = None
        for key, credential in self.entries.items():
            if (name == key or name.startswith(key + "/")) and (best is None or len(key) > best[0]):
                best = (len(key), credential)
        return best[1] if best else None


def _entry_key(raw: str) -> str:
    key = raw.strip()
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    key = key.rstrip("/")
    # Docker writes Docker Hub as "https://index.docker.io/v1/".
    if key.endswith("/v1") or key.endswith("/v2"):
        key = key[:-3]
    host, _, path = key.partition("/")
    host = normalize_registry(host)
    return f"{host}/{path}" if path else host


def _credential(key: str, entry: Any, source: str) -> Credential:
    if not isinstance(entry, dict):
        raise InvalidSpec(f'{source}: auths["{key}"] must be an object')
    values = {k: entry.get(k, "") for k in ("username", "password", "auth", "identitytoken")}
    values["registrytoken"] = entry.get("registrytoken", "")
    if not all(isinstance(v, str) for v in values.values()):
        raise InvalidSpec(f'{source}: auths["{key}"] fields must be strings')
    username, password = values["username"], values["password"]
    if values["auth"]:
        try:
            decoded = base64.b64decode(values["auth"], validate=True).decode()
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidSpec(
                f'{source}: auths["{key}"].auth is not base64 of "user:password"'
            ) from e
        if ":" not in decoded:
            raise InvalidSpec(f'{source}: auths["{key}"].auth does not decode to "user:password"')
        username, password = decoded.split(":", 1)
    return Credential(
        username=username,
        password=password,
        identity_token=values["identitytoken"],
        registry_token=values["registrytoken"],
    )


def parse_dockerconfigjson(data: bytes | str, source: str = "pull secret") -> Credentials:
    """Credentials from the JSON of a docker config (`{"auths": {...}}`)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidSpec(f"{source}: {DOCKERCONFIG_KEY} is not JSON") from e
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        raise InvalidSpec(f'{source}: {DOCKERCONFIG_KEY} has no "auths" object')
    return Credentials({_entry_key(k): _credential(k, v, source) for k, v in auths.items()})


def credentials_from_secret_data(
    data: Mapping[str, str], source: str = "pull secret"
) -> Credentials:
    """Credentials from a Secret's `data` (base64 values, as the Kubernetes API returns them)."""
    encoded = data.get(DOCKERCONFIG_KEY)
    if encoded is None:
        raise InvalidSpec(
            f"{source}: has no {DOCKERCONFIG_KEY} key; create it with "
            "`kubectl create secret docker-registry`"
        )
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as e:
        raise InvalidSpec(f"{source}: {DOCKERCONFIG_KEY} is not base64") from e
    return parse_dockerconfigjson(raw, source)
