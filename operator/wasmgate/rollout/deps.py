"""What a rollout step reads from and writes to the cluster, handed in by the runner.

The rollout package decides and builds objects; it never calls the Kubernetes API. A step gets
a `RolloutCluster` (runner/scheduler_cluster.py implements it with the Kubernetes client, tests
with a fake) and calls it in the order a step must write: compare-then-write stays here, where
it can be tested without a cluster. API failures arrive as `errors.KubernetesApiUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

PluginLock = Callable[[str], AbstractContextManager[None]]
"""Holds a WasmPlugin's lock, so a status write here never races the plugin's own pass."""


def no_lock(name: str) -> AbstractContextManager[None]:
    """A PluginLock that holds nothing (one caller at a time)."""
    return nullcontext()


class Stale(Enum):
    """Why a write conditional on a resourceVersion did not happen."""

    MOVED_ON = "MovedOn"
    """The object changed since that version (the API answered 409)."""
    GONE = "Gone"
    """The object no longer exists (404)."""


@dataclass(frozen=True)
class Known:
    """What the caller already read, so a step writes (and reads) only what changed."""

    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """WasmPlugins as the caller just read them: a mark one already carries is not written."""


NOTHING_KNOWN = Known()
"""The caller read nothing: every mark is compared against a fresh read."""


class PluginStatusAccess(Protocol):
    """Reads and status writes of WasmPlugins (JSON bodies, cluster-scoped)."""

    def read_plugin(self, name: str) -> dict[str, Any] | None:
        """The WasmPlugin as stored now; None when it is gone."""

    def write_plugin_status(self, name: str, status: Mapping[str, Any]) -> None:
        """Merge-patch the status subresource."""

    def write_plugin_status_at(
        self, name: str, resource_version: str, status: Mapping[str, Any]
    ) -> dict[str, Any] | Stale:
        """Merge-patch the status if the plugin is still at `resource_version`; the plugin as
        written, or why not."""


class RolloutCluster(PluginStatusAccess, Protocol):
    """Everything a rollout step reads and writes."""

    def ensure_scheduler_identity(self, namespace: str) -> None:
        """Raise unless the ServiceAccount scheduler pods run as exists in `namespace`."""

    def read_deployment(self, name: str, namespace: str) -> dict[str, Any] | None:
        """The Deployment as the apiserver's JSON; None when there is none."""

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """The pods that match the selector, as the apiserver's JSON."""

    def read_config(self, name: str, namespace: str) -> dict[str, Any] | None:
        """The scheduler configuration a ConfigMap holds, parsed; None when it is gone."""

    def upsert(self, obj: Mapping[str, Any], *, exists: bool) -> None:
        """Create a Deployment or ConfigMap, or patch it into shape; `exists` when the caller
        has just read it, so no create is sent that would only answer 409."""

    def delete_config_map(self, name: str, namespace: str) -> None:
        """Delete the ConfigMap; one already gone is no error."""

    def write_scheduler_status(self, name: str, status: Mapping[str, Any]) -> None:
        """Merge-patch the WasmScheduler's status subresource."""


__all__ = [
    "NOTHING_KNOWN",
    "Known",
    "PluginLock",
    "PluginStatusAccess",
    "RolloutCluster",
    "Stale",
    "no_lock",
]
