"""What a rollout step writes: ConfigMaps, the scheduler Deployment, the WasmScheduler status.

Writes are idempotent, so a step repeated after a crash converges: a create that meets an
existing object patches it into shape instead (a ConfigMap excepted: it is immutable and named
by its content's hash, so the same name already holds the same content).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmscheduler import WASMSCHEDULER

NOT_FOUND = 404
CONFLICT = 409


def upsert(api: client.ApiClient, obj: Mapping[str, Any], *, exists: bool = False) -> None:
    """Create `obj`, or patch it into shape when it exists (idempotent); `exists` when the
    caller has just read it, so the create that would only answer 409 is not sent."""
    kind = obj["kind"]
    name = obj["metadata"]["name"]
    namespace = obj["metadata"].get("namespace")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    operations: dict[str, tuple[Any, Callable[..., object], Callable[..., object]]] = {
        "Deployment": (
            client.V1Deployment,
            apps.create_namespaced_deployment,
            apps.patch_namespaced_deployment,
        ),
        "ConfigMap": (
            client.V1ConfigMap,
            core.create_namespaced_config_map,
            core.patch_namespaced_config_map,
        ),
    }
    model, create, patch = operations[kind]
    scope = () if namespace is None else (namespace,)
    if exists:
        patch(name, *scope, dict(obj))
        return
    try:
        create(*scope, model.model_validate(dict(obj)))
    except ApiException as e:
        if e.status != CONFLICT:
            raise
        if kind != "ConfigMap":  # immutable: same name means same content
            patch(name, *scope, dict(obj))


def delete_config_map(api: client.ApiClient, name: str, namespace: str) -> None:
    """Delete the ConfigMap; one already gone is no error."""
    try:
        client.CoreV1Api(api).delete_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise


def write_scheduler_status(api: client.ApiClient, name: str, status: Mapping[str, Any]) -> str:
    """Merge-patch the WasmScheduler's status subresource; the resourceVersion it now has."""
    written = cast(
        dict[str, Any],
        client.CustomObjectsApi(api).patch_cluster_custom_object_status(
            GROUP, VERSION, WASMSCHEDULER.plural, name, {"status": dict(status)}
        ),
    )
    return str(written.get("metadata", {}).get("resourceVersion", ""))
