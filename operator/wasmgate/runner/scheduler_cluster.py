"""The cluster a scheduler pass and its rollout step read and write, over the Kubernetes client.

Implements `reconcile.scheduler_deps.SchedulerCluster` by binding an ApiClient to the runner's
read and write functions, and turns the client's ApiException into the project's
`KubernetesApiUnavailable`, worded in one line, so the pure packages never import the client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.errors import KubernetesApiUnavailable
from wasmgate.reconcile.scheduler_deps import Snapshot
from wasmgate.rollout.deps import Stale
from wasmgate.runner import plugin_status_writes, rollout_reads, rollout_writes
from wasmgate.runner import scheduler_snapshot as snapshots


def unavailable(error: ApiException) -> KubernetesApiUnavailable:
    """The project's error for an answer of the API (an ApiException's str is its whole HTTP
    response; this is one line for a condition message)."""
    message = f"the Kubernetes API answered {error.status} {error.reason}"
    return KubernetesApiUnavailable(message, status=error.status)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ApiException as e:
        raise unavailable(e) from e


SchedulerVersions = dict[str, str]
"""Per WasmScheduler, the resourceVersion this operator last wrote or read. A scheduler's
status is its rollout's state, so a pass must not act on a copy older than its own last write;
the watch's copy is used once it shows that version, and the scheduler is read otherwise (one
GET per pass was a large share of the requests of a busy operator)."""


class KubeSchedulerCluster:
    """A SchedulerCluster over one ApiClient."""

    def __init__(
        self,
        api: client.ApiClient,
        identities: rollout_reads.IdentityChecks | None = None,
        versions: SchedulerVersions | None = None,
        watched: Mapping[str, Mapping[str, Any]] | None = None,
        configs: rollout_reads.ParsedConfigs | None = None,
    ) -> None:
        self.api = api
        self.identities = identities or rollout_reads.IdentityChecks()
        self.versions = versions if versions is not None else SchedulerVersions()
        self.watched = watched or {}
        self._known_configs = configs or {}
        self.configs_read: rollout_reads.ParsedConfigs = {}
        """The configurations this pass read, by ConfigMap name: the next pass's `configs`."""

    def read_snapshot(self) -> Snapshot:
        with _translated():
            return snapshots.read_snapshot(self.api)

    def read_scheduler(self, name: str) -> dict[str, Any] | None:
        """The WasmScheduler at the version this process last wrote or read: the watch's copy
        when it has caught up with that version, else read from the API."""
        watched = self.watched.get(name)
        known = self.versions.get(name)
        version = (watched or {}).get("metadata", {}).get("resourceVersion")
        if watched is not None and known is not None and version == known:
            return dict(watched)
        with _translated():
            fresh = snapshots.read_scheduler(self.api, name)
        if fresh is not None:
            self.versions[name] = str(fresh["metadata"].get("resourceVersion", ""))
        return fresh

    def read_plugin(self, name: str) -> dict[str, Any] | None:
        with _translated():
            return snapshots.read_item(self.api, WASMPLUGIN.plural, name)

    def write_plugin_status(self, name: str, status: Mapping[str, Any]) -> None:
        with _translated():
            plugin_status_writes.write_plugin_status(self.api, name, status)

    def write_plugin_status_at(
        self, name: str, resource_version: str, status: Mapping[str, Any]
    ) -> dict[str, Any] | Stale:
        with _translated():
            return plugin_status_writes.write_plugin_status_at(
                self.api, name, resource_version, status
            )

    def ensure_scheduler_identity(self, namespace: str) -> None:
        with _translated():
            self.identities.ensure(self.api, namespace)

    def read_deployment(self, name: str, namespace: str) -> dict[str, Any] | None:
        with _translated():
            return rollout_reads.read_deployment(self.api, name, namespace)

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        with _translated():
            return rollout_reads.list_pods(self.api, namespace, label_selector)

    def read_config(self, name: str, namespace: str) -> dict[str, Any] | None:
        """The parsed configuration of a rendered ConfigMap: from `configs` when the last pass
        read it (ConfigMaps are immutable), else from the API."""
        config = self._known_configs.get(name)
        if config is None:
            with _translated():
                config = rollout_reads.read_config(self.api, name, namespace)
        if config is not None:
            self.configs_read[name] = config
        return config

    def upsert(self, obj: Mapping[str, Any], *, exists: bool) -> None:
        with _translated():
            rollout_writes.upsert(self.api, obj, exists=exists)

    def delete_config_map(self, name: str, namespace: str) -> None:
        with _translated():
            rollout_writes.delete_config_map(self.api, name, namespace)

    def write_scheduler_status(self, name: str, status: Mapping[str, Any]) -> None:
        with _translated():
            self.versions[name] = rollout_writes.write_scheduler_status(self.api, name, status)
