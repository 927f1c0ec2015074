"""WasmPlugin status writes of scheduler passes: staging status and rollout marks.

A scheduler pass writes on plugins it does not own, while each plugin's own pass may write them
too, so its writes are merge patches of the status subresource, most of them conditional on the
resourceVersion the pass read: a 409 or 404 answer is a fact for the pass to act on (read again,
or let go), not a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.rollout.deps import Stale

STALE_ANSWERS = {409: Stale.MOVED_ON, 404: Stale.GONE}


def write_plugin_status(
    api: client.ApiClient, name: str, status: Mapping[str, Any], timeout: float | None = None
) -> None:
    """Merge-patch the status subresource; with `timeout`, a request that hangs longer is given
    up (and its pass retried) instead of waited on."""
    limit: dict[str, Any] = {} if timeout is None else {"_request_timeout": timeout}
    client.CustomObjectsApi(api).patch_cluster_custom_object_status(
        GROUP, VERSION, WASMPLUGIN.plural, name, {"status": dict(status)}, **limit
    )


def write_plugin_status_at(
    api: client.ApiClient, name: str, resource_version: str, status: Mapping[str, Any]
) -> dict[str, Any] | Stale:
    """Merge-patch the status if the plugin is still at `resource_version`; the plugin as the
    apiserver answered, or why it was not written."""
    body = {"metadata": {"resourceVersion": resource_version}, "status": dict(status)}
    custom = client.CustomObjectsApi(api)
    try:
        written = custom.patch_cluster_custom_object_status(
            GROUP, VERSION, WASMPLUGIN.plural, name, body
        )
    except ApiException as e:
        stale = STALE_ANSWERS.get(e.status) if e.status is not None else None
        if stale is None:
            raise
        return stale
    return cast(dict[str, Any], written)
