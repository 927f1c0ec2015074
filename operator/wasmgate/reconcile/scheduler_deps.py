"""What a scheduler pass reads about the cluster and through what it writes, handed in by the
runner.

A pass takes its view of the cluster as a `Snapshot` (the operator's watches hold one; without
them the runner lists it) and reads and writes through a `SchedulerCluster`, so reconcile never
calls the Kubernetes API: runner/scheduler_cluster.py implements it with the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wasmgate.rollout.deps import RolloutCluster


@dataclass(frozen=True)
class Snapshot:
    """What a pass reads about the cluster, as the operator's watches hold it (kopf indexes):
    with it, a pass lists nothing. Nodes need only their name, labels and taints."""

    schedulers: list[dict[str, Any]]
    plugins: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    node_caches: list[dict[str, Any]]


def node_shape(node: Mapping[str, Any]) -> dict[str, Any]:
    """What staging reads of a Node (stage.targets): name, labels, taints."""
    metadata = node.get("metadata") or {}
    return {
        "metadata": {"name": metadata.get("name"), "labels": dict(metadata.get("labels") or {})},
        "spec": {"taints": list((node.get("spec") or {}).get("taints") or [])},
    }


class SchedulerCluster(RolloutCluster, Protocol):
    """A rollout step's reads and writes, and what a pass reads besides."""

    def read_snapshot(self) -> Snapshot:
        """The snapshot listed from the apiserver."""

    def read_scheduler(self, name: str) -> dict[str, Any] | None:
        """The WasmScheduler as stored now; None when it is gone."""


__all__ = ["SchedulerCluster", "Snapshot", "node_shape"]
