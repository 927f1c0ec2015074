"""What a rollout step reads: the scheduler identity, its Deployment, pods and configurations.

Rendered configurations are read once per process: their ConfigMaps are immutable and named by
their content's hash, so a name always means the same content.
"""

from __future__ import annotations

import time
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.rollout.names import CONFIG_KEY
from wasmgate.rollout.rbac import SCHEDULER_SERVICE_ACCOUNT, missing_identity_message
from wasmgate.runner.kube_json import as_json

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


# Parsed configurations by (namespace, ConfigMap name).
_CONFIGS: dict[tuple[str, str], dict[str, Any]] = {}
_MAX_CONFIGS = 256


def read_config(api: client.ApiClient, name: str, namespace: str) -> dict[str, Any] | None:
    """The configuration a rendered ConfigMap holds, parsed; None when it is gone."""
    cached = _CONFIGS.get((namespace, name))
    if cached is not None:
        return cached
    try:
        config_map = client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status == NOT_FOUND:
            return None
        raise
    loaded: dict[str, Any] = yaml.safe_load((config_map.data or {}).get(CONFIG_KEY, "")) or {}
    if len(_CONFIGS) >= _MAX_CONFIGS:
        _CONFIGS.clear()
    _CONFIGS[(namespace, name)] = loaded
    return loaded


def read_deployment(api: client.ApiClient, name: str, namespace: str) -> dict[str, Any] | None:
    """The scheduler's Deployment as the apiserver's JSON, or None."""
    try:
        raw = client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
        return None
    return as_json(api, raw)


def list_pods(api: client.ApiClient, namespace: str, label_selector: str) -> list[dict[str, Any]]:
    """The pods the selector matches, as the apiserver's JSON."""
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=label_selector)
    return [as_json(api, pod) for pod in pods.items]
