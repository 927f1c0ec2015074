"""Where and how the admission webhook serves, as one frozen settings object.

The WASMGATE_WEBHOOK_* variables read here and `wasmgate run`'s `--webhook-*` flags are two
spellings of one input: the runner lays the flags over the variables and parses them here once.
The result travels inside the operator's settings; its `enabled` decides whether the webhook's
kopf handlers are registered at all.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_LISTEN_ADDRESS = "127.0.0.1"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9443
DEFAULT_CONFIGURATION_NAME = "wasmgate.dev"
DEFAULT_FAILURE_POLICY: Literal["Ignore", "Fail"] = "Ignore"
DEFAULT_TIMEOUT_SECONDS = 5
DEFAULT_SERVICE_PORT = 443

ENV_ENABLED = "WASMGATE_WEBHOOK"
ENV_LISTEN_ADDRESS = "WASMGATE_WEBHOOK_ADDRESS"
ENV_HOST = "WASMGATE_WEBHOOK_HOST"
ENV_PORT = "WASMGATE_WEBHOOK_PORT"
ENV_CERT_DIR = "WASMGATE_WEBHOOK_CERT_DIR"
ENV_EXTERNAL_CERTS = "WASMGATE_WEBHOOK_EXTERNAL_CERTS"
ENV_CA_SECRET = "WASMGATE_WEBHOOK_CA_SECRET"  # noqa: S105 (a variable name, not a secret)
ENV_SERVICE = "WASMGATE_WEBHOOK_SERVICE"
ENV_CONFIGURATION = "WASMGATE_WEBHOOK_CONFIGURATION"
ENV_FAILURE_POLICY = "WASMGATE_WEBHOOK_FAILURE_POLICY"
ENV_TIMEOUT = "WASMGATE_WEBHOOK_TIMEOUT"
OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class NamespacedName:
    """An object in a namespace, written NAMESPACE/NAME."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str, variable: str) -> NamespacedName:
        namespace, slash, name = text.partition("/")
        if not (slash and namespace and name) or "/" in name:
            raise ValueError(f"{variable}={text!r}: use NAMESPACE/NAME")
        return cls(namespace, name)


@dataclass(frozen=True)
class ServiceRef:
    """A Service in front of the operator, which the apiserver calls instead of a URL."""

    namespace: str
    name: str
    port: int = DEFAULT_SERVICE_PORT

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        """`namespace/name` or `namespace/name:port`."""
        namespace, slash, rest = text.partition("/")
        name, colon, port = rest.partition(":")
        if not (slash and namespace and name) or (colon and not port.isdigit()):
            raise ValueError(f"{ENV_SERVICE}={text!r}: use NAMESPACE/NAME or NAMESPACE/NAME:PORT")
        return cls(namespace, name, int(port) if colon else DEFAULT_SERVICE_PORT)

    @property
    def dns_names(self) -> tuple[str, ...]:
        """The names a client may use for this Service; the serving certificate holds them."""
        base = f"{self.name}.{self.namespace}"
        return (self.name, base, f"{base}.svc", f"{base}.svc.cluster.local")


@dataclass(frozen=True)
class AdmissionSettings:
    """How the webhook is reached and how the apiserver treats it."""

    enabled: bool = True
    """Whether `wasmgate run` serves the webhook at all (default yes; `--no-webhook`)."""
    listen_address: str = DEFAULT_LISTEN_ADDRESS
    """Address the HTTPS listener binds (default 127.0.0.1; 0.0.0.0 in a Pod)."""
    host: str = DEFAULT_HOST
    """Host (name or address) the apiserver calls when no Service is set; also in the serving
    certificate (default 127.0.0.1)."""
    port: int = DEFAULT_PORT
    """TCP port of the HTTPS listener (default 9443)."""
    cert_dir: Path | None = None
    """Directory of the CA and serving certificate, created and rotated by wasmgate. Default
    None: a private temporary directory made at start-up (a new CA per process, applied as the
    caBundle), which needs no writable path but $TMPDIR."""
    external_certs: bool = False
    """Whether someone else (cert-manager) keeps tls.crt/tls.key in cert_dir and the caBundle of
    the configuration: wasmgate then writes neither (default no: wasmgate makes and rotates its
    own CA and applies the configuration)."""
    ca_secret: NamespacedName | None = None
    """Secret holding the CA every replica shares (created by the first one); default none:
    each process has its own CA, fine for one replica."""
    service: ServiceRef | None = None
    """Service the apiserver calls instead of https://host:port (default none)."""
    configuration_name: str = DEFAULT_CONFIGURATION_NAME
    """Name of the ValidatingWebhookConfiguration wasmgate writes (default wasmgate.dev)."""
    failure_policy: Literal["Ignore", "Fail"] = DEFAULT_FAILURE_POLICY
    """What the apiserver does when the webhook cannot answer (default Ignore, see docs)."""
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    """How long the apiserver waits for an answer, in seconds (default 5, at most 30)."""

    def __post_init__(self) -> None:
        if self.external_certs and self.ca_secret is not None:
            raise ValueError(
                f"{ENV_EXTERNAL_CERTS} and {ENV_CA_SECRET} exclude each other: with external "
                "certificates wasmgate has no CA to share"
            )
        if self.external_certs and self.cert_dir is None:
            raise ValueError(
                f"{ENV_EXTERNAL_CERTS} needs {ENV_CERT_DIR} (--webhook-cert-dir): where the "
                "mounted certificates are"
            )
        if not 1 <= self.port <= 65535:
            raise ValueError(f"webhook port {self.port}: use 1 to 65535")
        if not 1 <= self.timeout_seconds <= 30:
            raise ValueError(f"webhook timeout {self.timeout_seconds}: the apiserver accepts 1-30")

    @property
    def url(self) -> str:
        """Base URL the apiserver calls when no Service is set; kopf routes `<url>/<id>`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def certificate_hosts(self) -> tuple[str, ...]:
        """Names and addresses the serving certificate must cover (the first is its CN)."""
        hosts = [self.host]
        if self.service is not None:
            hosts.extend(self.service.dns_names)
        if _specific_address(self.listen_address):
            hosts.append(self.listen_address)
        return tuple(dict.fromkeys(hosts))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AdmissionSettings:
        """Settings from WASMGATE_WEBHOOK_* variables, defaults for the rest."""
        env = os.environ if environ is None else environ
        policy = env.get(ENV_FAILURE_POLICY, DEFAULT_FAILURE_POLICY)
        if policy not in ("Ignore", "Fail"):
            raise ValueError(f"{ENV_FAILURE_POLICY}={policy!r}: use Ignore or Fail")
        cert_dir = env.get(ENV_CERT_DIR)
        service = env.get(ENV_SERVICE)
        ca_secret = env.get(ENV_CA_SECRET)
        return cls(
            enabled=_flag(env, ENV_ENABLED, default=True),
            listen_address=env.get(ENV_LISTEN_ADDRESS) or DEFAULT_LISTEN_ADDRESS,
            host=env.get(ENV_HOST) or DEFAULT_HOST,
            port=_int(env, ENV_PORT, DEFAULT_PORT),
            cert_dir=Path(cert_dir) if cert_dir else None,
            external_certs=_flag(env, ENV_EXTERNAL_CERTS, default=False),
            service=ServiceRef.parse(service) if service else None,
            ca_secret=NamespacedName.parse(ca_secret, ENV_CA_SECRET) if ca_secret else None,
            configuration_name=env.get(ENV_CONFIGURATION) or DEFAULT_CONFIGURATION_NAME,
            failure_policy="Fail" if policy == "Fail" else "Ignore",
            timeout_seconds=_int(env, ENV_TIMEOUT, DEFAULT_TIMEOUT_SECONDS),
        )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    return default if not raw else raw not in OFF


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise ValueError(f"{name}={raw!r} is not a whole number") from e


def _specific_address(address: str) -> bool:
    """An IP address other than the "any interface" ones (0.0.0.0, ::)."""
    try:
        return not ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False
