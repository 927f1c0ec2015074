"""The agent's knobs, in one frozen object built from the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wasmgate.oci import RegistrySettings

DEFAULT_STORE = Path("/var/lib/wasmgate/store")
DEFAULT_CAPACITY_BYTES = 2 * 1024 * 1024 * 1024
DEFAULT_CONCURRENCY = 2
DEFAULT_GC_GRACE_SECONDS = 600.0
DEFAULT_RESYNC_SECONDS = 30.0
DEFAULT_RETRY_SECONDS = 2.0
DEFAULT_RETRY_MAX_SECONDS = 300.0
DEFAULT_SECRET_NAMESPACE = "wasmgate-system"  # noqa: S105 - a namespace, not a secret


@dataclass(frozen=True)
class AgentSettings:
    """How one node's agent stages blobs."""

    node: str
    """Name of the Node this agent serves (the downward API's spec.nodeName)."""
    store: Path = DEFAULT_STORE
    """Store root; blobs live in <store>/sha256/<hex>. Default /var/lib/wasmgate/store."""
    capacity_bytes: int = DEFAULT_CAPACITY_BYTES
    """Most bytes the store may hold, pulls in flight included. Default 2 GiB."""
    concurrency: int = DEFAULT_CONCURRENCY
    """Pulls running at once. Default 2."""
    gc_grace_seconds: float = DEFAULT_GC_GRACE_SECONDS
    """Seconds a blob stays after the last plugin stopped referencing it. Default 600."""
    resync_seconds: float = DEFAULT_RESYNC_SECONDS
    """Seconds between reconciles when nothing changes (retries, collection). Default 30."""
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    """First wait before retrying a failed pull, doubled per failure. Default 2."""
    retry_max_seconds: float = DEFAULT_RETRY_MAX_SECONDS
    """Longest wait between retries of a failed pull. Default 300."""
    secret_namespace: str = DEFAULT_SECRET_NAMESPACE
    """The only namespace pull secrets are read from (the agent's RBAC). Default wasmgate-system."""
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    """Transport settings for registries (plain HTTP hosts, CA bundles, caps)."""
    stats_file: Path | None = None
    """If set, a JSON file the agent rewrites with its request counters (for benchmarks)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("AgentSettings.concurrency must be at least 1")
        if self.capacity_bytes < 1:
            raise ValueError("AgentSettings.capacity_bytes must be at least 1")
