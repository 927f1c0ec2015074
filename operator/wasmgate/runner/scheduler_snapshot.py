"""What a scheduler pass reads of the cluster when the operator's watches do not hold it.

Without a `Snapshot` of kopf's indexes a pass lists schedulers, plugins, nodes and
WasmNodeCaches (four requests); with one, it still reads its own WasmScheduler fresh, because
its status is the rollout's state and a watch may not have delivered the last step's write yet.
"""

from __future__ import annotations

from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmnodecache import WASMNODECACHE
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.api.wasmscheduler import WASMSCHEDULER
from wasmgate.reconcile.scheduler_deps import Snapshot, node_shape
from wasmgate.runner.kube_json import as_json

NOT_FOUND = 404


def list_items(api: client.ApiClient, plural: str) -> list[dict[str, Any]]:
    """Every object of a cluster-scoped custom kind, as JSON."""
    custom = client.CustomObjectsApi(api)
    listed = cast(dict[str, Any], custom.list_cluster_custom_object(GROUP, VERSION, plural))
    return list(listed.get("items") or [])


def read_item(api: client.ApiClient, plural: str, name: str) -> dict[str, Any] | None:
    """One cluster-scoped custom object as JSON; None when it is gone."""
    custom = client.CustomObjectsApi(api)
    try:
        return cast(dict[str, Any], custom.get_cluster_custom_object(GROUP, VERSION, plural, name))
    except ApiException as e:
        if e.status == NOT_FOUND:
            return None
        raise


def read_snapshot(api: client.ApiClient) -> Snapshot:
    """The snapshot listed from the apiserver (four requests)."""
    return Snapshot(
        schedulers=list_items(api, WASMSCHEDULER.plural),
        plugins=list_items(api, WASMPLUGIN.plural),
        nodes=[node_shape(as_json(api, node)) for node in client.CoreV1Api(api).list_node().items],
        node_caches=list_items(api, WASMNODECACHE.plural),
    )


def read_scheduler(api: client.ApiClient, name: str) -> dict[str, Any] | None:
    """The WasmScheduler as stored now; None when it is gone."""
    return read_item(api, WASMSCHEDULER.plural, name)
