"""The scheduler Deployment: the wasm scheduler image pointed at one configuration revision.

Built by a pure function so tests can check every security setting without a cluster. The pod
is locked down (non-root, read-only root filesystem, no privilege escalation, no capabilities);
the node store is mounted read-only and re-hashed by the `verify-store` init container before
the scheduler loads a byte of it.
"""

from __future__ import annotations

from typing import Any

from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.names import (
    ANNOTATION_CONFIG_MAP,
    CONFIG_KEY,
    CONTAINER_SCHEDULER,
    CONTAINER_VERIFY_STORE,
    LABEL_CONFIG_HASH,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    SCHEDULER_ENTRYPOINT,
    deployment_name,
    owner_references,
    selector_labels,
)
from wasmgate.rollout.rbac import SCHEDULER_SERVICE_ACCOUNT
from wasmgate.rollout.settings import RolloutConfig

CONFIG_DIR = "/etc/wasmgate/scheduler"
STORE_VOLUME = "store"
CONFIG_VOLUME = "config"
TMP_VOLUME = "tmp"
# A memory emptyDir, private to the pod: kube-scheduler writes self-signed serving certificates
# here when none are given (the root filesystem is read-only).
SCRATCH_DIR = "/tmp"  # noqa: S108
CERT_DIR = f"{SCRATCH_DIR}/scheduler-certs"


def _container_security(settings: RolloutConfig) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": settings.run_as_user,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, settings: RolloutConfig, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": settings.secure_port, "scheme": "HTTPS"},
        "periodSeconds": period,
        "failureThreshold": failures,
    }


def _scheduler_container(scheduler: WasmScheduler, settings: RolloutConfig) -> dict[str, Any]:
    return {
        "name": CONTAINER_SCHEDULER,
        "image": scheduler.spec.image,
        "command": [SCHEDULER_ENTRYPOINT],
        "args": [
            f"--config={CONFIG_DIR}/{CONFIG_KEY}",
            f"--secure-port={settings.secure_port}",
            f"--cert-dir={CERT_DIR}",
        ],
        "ports": [{"name": "https", "containerPort": settings.secure_port}],
        "readinessProbe": _probe("/readyz", settings, period=5, failures=3),
        "livenessProbe": _probe("/livez", settings, period=10, failures=3),
        "startupProbe": _probe("/healthz", settings, period=2, failures=30),
        # The scheduler's last log lines (its refusal of a plugin) become the termination
        # message, which the rollout machine copies into the failing plugin's condition.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": _container_security(settings),
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": STORE_VOLUME, "mountPath": settings.store_root, "readOnly": True},
            {"name": TMP_VOLUME, "mountPath": SCRATCH_DIR},
        ],
    }


def _verify_store_container(settings: RolloutConfig) -> dict[str, Any]:
    return {
        "name": CONTAINER_VERIFY_STORE,
        "image": settings.wasmgate_image,
        "command": ["wasmgate", "verify-store", "--config", f"{CONFIG_DIR}/{CONFIG_KEY}"],
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
        "securityContext": _container_security(settings),
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": STORE_VOLUME, "mountPath": settings.store_root, "readOnly": True},
        ],
    }


def config_hash_of(config_map_name: str) -> str:
    """The content hash a ConfigMap name `<stem>-config-<hash>` ends with."""
    return config_map_name.rsplit("-", 1)[-1]


def build_deployment(
    scheduler: WasmScheduler,
    config_map_name: str,
    settings: RolloutConfig | None = None,
) -> dict[str, Any]:
    """The scheduler Deployment running the configuration in `config_map_name`."""
    settings = settings or RolloutConfig()
    spec = scheduler.spec
    selector = selector_labels(scheduler)
    pod_labels = {**selector, LABEL_CONFIG_HASH: config_hash_of(config_map_name)}
    pod_spec: dict[str, Any] = {
        "serviceAccountName": SCHEDULER_SERVICE_ACCOUNT,
        "priorityClassName": "system-cluster-critical",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": settings.run_as_user,
            "runAsGroup": settings.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [_verify_store_container(settings)],
        "containers": [_scheduler_container(scheduler, settings)],
        "volumes": [
            {"name": CONFIG_VOLUME, "configMap": {"name": config_map_name}},
            {
                "name": STORE_VOLUME,
                "hostPath": {"path": settings.store_root, "type": "Directory"},
            },
            {"name": TMP_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        ],
    }
    if spec.node_selector:
        pod_spec["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod_spec["tolerations"] = [toleration.to_json() for toleration in spec.tolerations]
    metadata: dict[str, Any] = {
        "name": deployment_name(scheduler),
        "namespace": settings.namespace,
        "labels": {**selector, MANAGED_BY: MANAGED_BY_VALUE},
        "annotations": {ANNOTATION_CONFIG_MAP: config_map_name},
    }
    owners = owner_references(scheduler)
    if owners:
        metadata["ownerReferences"] = owners
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "minReadySeconds": settings.min_ready_seconds,
            "progressDeadlineSeconds": spec.rollout.progress_deadline_seconds,
            # Old ReplicaSets are not how wasmgate rolls back (it points at an old ConfigMap).
            "revisionHistoryLimit": 2,
            "strategy": {
                "type": "RollingUpdate",
                # Surge first: the old scheduler keeps scheduling until the new one is available.
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {ANNOTATION_CONFIG_MAP: config_map_name},
                },
                "spec": pod_spec,
            },
        },
    }
