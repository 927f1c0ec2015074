"""Names and labels of everything wasmgate creates for one WasmScheduler.

Kept in one place because the builders, the rollout machine, the kit and the e2e tests
must find the same objects: a typo in a label here would orphan a Deployment.
"""

from __future__ import annotations

import hashlib

from wasmgate.api.wasmscheduler import WasmScheduler

LABEL_SCHEDULER = "wasmgate.dev/scheduler"
LABEL_COMPONENT = "wasmgate.dev/component"
LABEL_REVISION = "wasmgate.dev/revision"
LABEL_CONFIG_HASH = "wasmgate.dev/config-hash"
COMPONENT_SCHEDULER = "scheduler"
COMPONENT_SCHEDULER_CONFIG = "scheduler-config"
ANNOTATION_CONFIG_MAP = "wasmgate.dev/config-map"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "wasmgate"
CONFIG_KEY = "config.yaml"
CONFIG_HASH_LENGTH = 16
CONTAINER_SCHEDULER = "scheduler"
# Where upstream's scheduler image keeps its binary (scheduler/Dockerfile in
# kube-scheduler-wasm-extension); the image has no `kube-scheduler` on PATH.
SCHEDULER_ENTRYPOINT = "/kube-scheduler-wasm-extension"
CONTAINER_VERIFY_STORE = "verify-store"
# Object names get a suffix; keep the stem short enough for every Kubernetes name limit.
MAX_STEM = 40


def scheduler_name(scheduler: WasmScheduler) -> str:
    """The name pods use in spec.schedulerName: spec.schedulerName, else the object's name."""
    if scheduler.spec.scheduler_name:
        return scheduler.spec.scheduler_name
    name = scheduler.metadata.name
    if not name:
        raise ValueError("WasmScheduler has no metadata.name")
    return name


def object_stem(scheduler: WasmScheduler) -> str:
    """Base name of the Deployment and ConfigMaps of this WasmScheduler."""
    name = scheduler.metadata.name
    if not name:
        raise ValueError("WasmScheduler has no metadata.name")
    if len(name) <= MAX_STEM:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_STEM - 9].rstrip('-.')}-{digest}"


def deployment_name(scheduler: WasmScheduler) -> str:
    return object_stem(scheduler)


def config_map_name(scheduler: WasmScheduler, config_hash: str) -> str:
    return f"{object_stem(scheduler)}-config-{config_hash}"


def lease_name(scheduler: WasmScheduler) -> str:
    """Leader-election lease: named after the scheduler, so two schedulers never share one."""
    return scheduler_name(scheduler)


def selector_labels(scheduler: WasmScheduler) -> dict[str, str]:
    """Labels that select this WasmScheduler's pods (stable across revisions)."""
    return {LABEL_SCHEDULER: object_stem(scheduler), LABEL_COMPONENT: COMPONENT_SCHEDULER}


def owner_references(scheduler: WasmScheduler) -> list[dict[str, object]]:
    """The WasmScheduler as controller owner (a cluster-scoped owner may own namespaced objects),
    so deleting it garbage-collects its Deployment and ConfigMaps; none before it has a uid."""
    if not scheduler.metadata.uid:
        return []
    return [
        {
            "apiVersion": scheduler.api_version,
            "kind": scheduler.kind,
            "name": scheduler.metadata.name,
            "uid": scheduler.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
