"""What the real stages need from outside the object: clients, settings, the cluster's policies.

Handlers build one `StageDeps` per pass from the operator's runtime; tests of the stages build
their own. Reading a Secret goes through a function so the stages never import a Kubernetes
client, and so a Secret's bytes pass straight from the API to the parser that needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from wasmgate.api.wasmtrustpolicy import WasmTrustPolicySpec
from wasmgate.oci.settings import RegistrySettings
from wasmgate.trust.settings import TrustSettings
from wasmgate.validate.cache import ValidationCache

SecretReader = Callable[[str, str], Mapping[str, str]]
"""(namespace, name) -> the Secret's `data` (base64 values); raises a WasmgateError."""


@dataclass(frozen=True)
class NamedPolicy:
    """A WasmTrustPolicy as the stages see it: its name and spec."""

    name: str
    spec: WasmTrustPolicySpec


@dataclass(frozen=True)
class StageDeps:
    """Clients and settings for one pipeline pass."""

    registry: RegistrySettings
    trust: TrustSettings
    read_secret: SecretReader
    policies: Sequence[NamedPolicy]
    clock: Callable[[], datetime]
    validation_cache: ValidationCache | None = None
    work_dir: Path | None = None
