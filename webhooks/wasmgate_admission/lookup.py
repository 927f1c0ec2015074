"""What admission needs to read from the cluster, as a small interface.

The checks depend on this protocol, not on a Kubernetes client, so unit tests hand them a plain
in-memory table and the operator hands them `ClusterLookup` (see `cluster_lookup.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from wasmgate.api.plugin_json import scheduler_names
from wasmgate.errors import WasmgateError


class LookupFailed(WasmgateError):
    """The cluster could not answer (RBAC, apiserver error); the check cannot decide."""

    reason = "LookupFailed"


class Lookup(Protocol):
    """Reads of the objects an admission decision depends on."""

    def secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The Secret object (with base64 `data`), or None when it does not exist."""
        ...

    def scheduler_exists(self, name: str) -> bool:
        """Whether a WasmScheduler of this name exists."""
        ...

    def trust_policies(self) -> Sequence[Mapping[str, Any]]:
        """Every WasmTrustPolicy object."""
        ...

    def plugins(self) -> Sequence[Mapping[str, Any]]:
        """Every WasmPlugin object."""
        ...

    def scheduler_plugins(self, scheduler: str) -> Sequence[str]:
        """Names of the WasmPlugins that name this WasmScheduler (deleted ones excepted)."""
        ...


def plugins_naming(scheduler: str, plugins: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of the plugins whose spec.scheduler.schedulers names `scheduler`, sorted; a plugin
    already being deleted does not hold its scheduler."""
    names = []
    for plugin in plugins:
        if (plugin.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if scheduler in scheduler_names(plugin):
            names.append(str(plugin.get("metadata", {}).get("name", "?")))
    return sorted(names)
