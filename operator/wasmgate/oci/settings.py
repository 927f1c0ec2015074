"""How wasmgate talks to registries: one frozen object, so a reconcile cannot change it midway.

Defaults are safe for a cluster on the internet: HTTPS only, link-local and cloud metadata
addresses refused, bounded sizes. Air-gapped clusters opt in per registry host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wasmgate.oci.mirror import RegistryMirror, mirrored
from wasmgate.oci.reference import Reference, normalize_registry
from wasmgate.oci.ssrf import IPNetwork

if TYPE_CHECKING:
    from wasmgate.oci.proxy import ProxySettings

DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# Above trust's default cap on signatures (16): a legacy .sig manifest carries one layer per
# signature, and the signature cap's refusal says which signatures to remove.
DEFAULT_MAX_LAYERS = 32
DEFAULT_MAX_BLOB_BYTES = 128 * 1024 * 1024
DEFAULT_MAX_SMALL_BLOB_BYTES = 1024 * 1024
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 0.5
DEFAULT_BACKOFF_MAX_SECONDS = 8.0
# Link-local covers the classic metadata address 169.254.169.254 (AWS, GCP, Azure, OpenStack);
# the others are metadata or host endpoints outside link-local: AWS IMDS over IPv6, Alibaba
# Cloud, Azure's wireserver.
DEFAULT_BLOCKED_NETWORKS: tuple[str, ...] = (
    "169.254.0.0/16",
    "fe80::/10",
    "fd00:ec2::254/128",
    "100.100.100.200/32",
    "168.63.129.16/32",
)


@dataclass(frozen=True)
class RegistrySettings:
    """Transport, trust-on-the-wire and size limits for every registry request."""

    plain_http: frozenset[str] = frozenset()
    """Registry hosts (`host[:port]`) reached over plain HTTP. Default: none, HTTPS only."""
    ca_bundles: Mapping[str, Path] = field(default_factory=dict)
    """Per registry host, a PEM CA bundle that replaces the system roots. Default: none."""
    default_ca_bundle: Path | None = None
    """PEM bundle for registries without one in `ca_bundles` (the system roots plus a cluster CA,
    see registry_ca.py). Default: none, the system roots."""
    blocked_networks: tuple[str, ...] = DEFAULT_BLOCKED_NETWORKS
    """CIDRs we never connect to, checked on the connected socket. Default: link-local+metadata."""
    max_manifest_bytes: int = DEFAULT_MAX_MANIFEST_BYTES
    """Largest manifest or index we read, in bytes. Default 4 MiB (the OCI recommendation)."""
    max_layers: int = DEFAULT_MAX_LAYERS
    """Most layers (or index entries) a manifest may list. Default 16."""
    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES
    """Largest wasm layer (and extracted module) we fetch, in bytes. Default 128 MiB."""
    max_small_blob_bytes: int = DEFAULT_MAX_SMALL_BLOB_BYTES
    """Largest config blob read into memory, in bytes. Default 1 MiB."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    """Seconds to establish a connection. Default 5."""
    read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS
    """Seconds without a byte from the registry before we give up on a read. Default 30."""
    attempts: int = DEFAULT_ATTEMPTS
    """Tries per request on connection errors, timeouts, 429 and 5xx. Default 4."""
    backoff: float = DEFAULT_BACKOFF_SECONDS
    """First wait between tries in seconds, doubled each time. Default 0.5."""
    backoff_max: float = DEFAULT_BACKOFF_MAX_SECONDS
    """Longest wait between tries in seconds. Default 8."""
    proxy: ProxySettings | None = None
    """HTTPS proxy for registries (proxy.py; `--https-proxy`, HTTPS_PROXY). Default: none."""
    mirrors: tuple[RegistryMirror, ...] = ()
    """Registry mirrors (`--registry-mirror`): references under a prefix are read from the
    mirror; plain HTTP, CA bundles and the address block apply to the mirror host. Default: none."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "plain_http", frozenset(normalize_registry(h) for h in self.plain_http)
        )
        object.__setattr__(
            self, "ca_bundles", {normalize_registry(h): Path(p) for h, p in self.ca_bundles.items()}
        )
        for name in ("max_manifest_bytes", "max_layers", "max_blob_bytes", "attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"RegistrySettings.{name} must be at least 1")

    def mirror_of(self, reference: Reference) -> Reference | None:
        """The mirror's reference to read `reference` from, or None when no mirror covers it."""
        return mirrored(reference, self.mirrors)

    def networks(self) -> tuple[IPNetwork, ...]:
        """The blocked CIDRs, parsed."""
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.blocked_networks)

    def backoff_delays(self) -> list[float]:
        """Seconds to wait before each retry: exponential, capped."""
        return [min(self.backoff * 2**i, self.backoff_max) for i in range(self.attempts - 1)]
