"""An in-memory `Lookup` for unit tests of the pure admission checks."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wasmgate_admission.lookup import LookupFailed, plugins_naming

_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_PEM = _KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)


def secret(entries: Mapping[str, bytes]) -> dict[str, Any]:
    return {"data": {key: base64.b64encode(value).decode() for key, value in entries.items()}}


@dataclass
class TableLookup:
    secrets: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    schedulers: set[str] = field(default_factory=set)
    policies: list[Mapping[str, Any]] = field(default_factory=list)
    plugin_objects: list[Mapping[str, Any]] = field(default_factory=list)
    broken: bool = False

    def _check(self) -> None:
        if self.broken:
            raise LookupFailed("HTTP 403 Forbidden")

    def secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        self._check()
        return self.secrets.get((namespace, name))

    def scheduler_exists(self, name: str) -> bool:
        self._check()
        return name in self.schedulers

    def trust_policies(self) -> Sequence[Mapping[str, Any]]:
        self._check()
        return self.policies

    def plugins(self) -> Sequence[Mapping[str, Any]]:
        self._check()
        return self.plugin_objects

    def scheduler_plugins(self, scheduler: str) -> Sequence[str]:
        return plugins_naming(scheduler, self.plugins())
