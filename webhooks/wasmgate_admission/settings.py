"""Where and how the admission webhook serves, as one frozen settings object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 9443
DEFAULT_CERT_DIR = Path("/var/run/wasmgate/admission")
DEFAULT_CONFIGURATION_NAME = "wasmgate.dev"
DEFAULT_FAILURE_POLICY: Literal["Ignore", "Fail"] = "Ignore"
DEFAULT_TIMEOUT_SECONDS = 5
DEFAULT_SERVICE_NAMES = (
    "wasmgate-webhook",
    "wasmgate-webhook.wasmgate-system",
    "wasmgate-webhook.wasmgate-system.svc",
)


@dataclass(frozen=True)
class AdmissionSettings:
    """How the webhook is reached and how the apiserver treats it."""

    address: str = DEFAULT_ADDRESS
    """Address the webhook listens on and the apiserver calls (default 127.0.0.1)."""
    port: int = DEFAULT_PORT
    """TCP port of the HTTPS listener (default 9443)."""
    cert_dir: Path = DEFAULT_CERT_DIR
    """Directory of the CA and serving certificate, created and rotated by wasmgate."""
    configuration_name: str = DEFAULT_CONFIGURATION_NAME
    """Name of the ValidatingWebhookConfiguration wasmgate writes (default wasmgate.dev)."""
    failure_policy: Literal["Ignore", "Fail"] = DEFAULT_FAILURE_POLICY
    """What the apiserver does when the webhook cannot answer (default Ignore, see docs)."""
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    """How long the apiserver waits for an answer, in seconds (default 5, at most 30)."""
    dns_names: tuple[str, ...] = field(default=DEFAULT_SERVICE_NAMES)
    """Extra names in the serving certificate, for a Service in front of the operator."""

    @property
    def url(self) -> str:
        """Base URL the apiserver calls; kopf routes `<url>/<handler id>`."""
        return f"https://{self.address}:{self.port}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AdmissionSettings:
        """Settings from WASMGATE_WEBHOOK_* variables, defaults for the rest."""
        env = os.environ if environ is None else environ
        policy = env.get("WASMGATE_WEBHOOK_FAILURE_POLICY", DEFAULT_FAILURE_POLICY)
        if policy not in ("Ignore", "Fail"):
            raise ValueError(f"WASMGATE_WEBHOOK_FAILURE_POLICY={policy!r}: use Ignore or Fail")
        return cls(
            address=env.get("WASMGATE_WEBHOOK_ADDRESS", DEFAULT_ADDRESS),
            port=int(env.get("WASMGATE_WEBHOOK_PORT", DEFAULT_PORT)),
            cert_dir=Path(env.get("WASMGATE_WEBHOOK_CERT_DIR", DEFAULT_CERT_DIR)),
            configuration_name=env.get(
                "WASMGATE_WEBHOOK_CONFIGURATION", DEFAULT_CONFIGURATION_NAME
            ),
            failure_policy="Fail" if policy == "Fail" else "Ignore",
            timeout_seconds=int(env.get("WASMGATE_WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)),
        )
