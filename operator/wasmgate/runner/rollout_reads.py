"""What a rollout step reads: the scheduler identity, its Deployment, pods and configurations.

Rendered configurations are read once and kept while a WasmScheduler's revisions name them
(`RevisionConfigs`): their ConfigMaps are immutable and named by their content's hash, so a name
always means the same content.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.rollout.names import CONFIG_KEY
from wasmgate.rollout.rbac import SCHEDULER_SERVICE_ACCOUNT, missing_identity_message
from wasmgate.runner.kube_json import response_json

NOT_FOUND = 404


class SchedulerIdentityMissing(ApiException):
    """The scheduler ServiceAccount is not installed: retried like any refusal of the apiserver,
    with a reason that names the fix (rollout/rbac.py says why the operator does not create it)."""


def ensure_scheduler_identity(api: client.ApiClient, namespace: str) -> None:
    """Raise SchedulerIdentityMissing unless the ServiceAccount scheduler pods run as exists;
    without it the ReplicaSet could create no pod and the rollout would only time out."""
    try:
        client.CoreV1Api(api).read_namespaced_service_account(SCHEDULER_SERVICE_ACCOUNT, namespace)
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
        raise SchedulerIdentityMissing(
            status=NOT_FOUND, reason=missing_identity_message(namespace)
        ) from e


class IdentityChecks:
    """When each namespace's scheduler ServiceAccount was last seen, so a scheduler pass checks
    it once a minute instead of on every pass (a GET per pass was a sixth of the requests of a
    busy operator). A missing one is checked again on every pass until it appears."""

    RECHECK_SECONDS = 60.0

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def ensure(self, api: client.ApiClient, namespace: str) -> None:
        """`ensure_scheduler_identity`, unless it passed for `namespace` within a minute."""
        seen = self._seen.get(namespace)
        if seen is not None and time.monotonic() - seen < self.RECHECK_SECONDS:
            return
        self._seen.pop(namespace, None)
        ensure_scheduler_identity(api, namespace)
        self._seen[namespace] = time.monotonic()


# libyaml's loader when PyYAML was built with it: the same data, several times faster.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_config(api: client.ApiClient, name: str, namespace: str) -> dict[str, Any] | None:
    """The configuration a rendered ConfigMap holds, parsed; None when it is gone."""
    try:
        config_map = client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status == NOT_FOUND:
            return None
        raise
    text = (config_map.data or {}).get(CONFIG_KEY, "")
    loaded: dict[str, Any] = yaml.load(text, Loader=_LOADER) or {}  # noqa: S506 - a safe loader
    return loaded


ParsedConfigs = dict[str, dict[str, Any]]
"""Parsed configurations by ConfigMap name."""


class RevisionConfigs:
    """Per WasmScheduler, the parsed configurations its last pass read (its active and
    progressing revisions): read again by the next pass without a request, and dropped when
    the revisions stop naming them or the WasmScheduler is deleted.

    A process-wide cache of every configuration ever read kept the parsed configurations of
    superseded revisions and deleted schedulers (tens of thousands of small objects after a
    burst of 500 plugins), which pinned the allocator's memory long after the plugins were gone.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._by_scheduler: dict[str, ParsedConfigs] = {}

    def last_read(self, scheduler: str) -> ParsedConfigs:
        """What the scheduler's last pass read (a copy)."""
        with self._guard:
            return dict(self._by_scheduler.get(scheduler, {}))

    def keep(self, scheduler: str, read: ParsedConfigs) -> None:
        """Keep what a pass read in place of what the pass before it read; a pass that read
        none (it stopped before its rollout step) changes nothing."""
        if not read:
            return
        with self._guard:
            self._by_scheduler[scheduler] = dict(read)

    def forget(self, scheduler: str) -> None:
        """Drop a deleted scheduler's configurations."""
        with self._guard:
            self._by_scheduler.pop(scheduler, None)


def read_deployment(api: client.ApiClient, name: str, namespace: str) -> dict[str, Any] | None:
    """The scheduler's Deployment as the apiserver's JSON, or None."""
    apps = client.AppsV1Api(api)
    try:
        raw = apps.read_namespaced_deployment(name, namespace, _preload_content=False)
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
        return None
    return cast(dict[str, Any], response_json(raw))


def list_pods(api: client.ApiClient, namespace: str, label_selector: str) -> list[dict[str, Any]]:
    """The pods the selector matches, as the apiserver's JSON."""
    raw = client.CoreV1Api(api).list_namespaced_pod(
        namespace, label_selector=label_selector, _preload_content=False
    )
    return list(response_json(raw).get("items") or [])
