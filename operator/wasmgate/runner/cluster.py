"""The Kubernetes API calls of the WasmPlugin handlers other than status writes.

Reads of plugins and Secrets, and the trigger annotation. Status is written by
plugin_status_writes.py, inside the per-plugin lock, rather than through kopf's patch (applied
after the handler returns): a pass that takes the lock next must see what the previous pass
wrote, or it would redo registry work. Secrets are read as
raw JSON so their bytes stay base64 strings until a parser decodes them; they are never logged.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.errors import InvalidSpec, KubernetesApiUnavailable

PLUGINS = WASMPLUGIN.plural
NOT_FOUND = 404
FORBIDDEN = 403
REQUEST_TIMEOUT_SECONDS = 30


def _unavailable(what: str, error: ApiException) -> KubernetesApiUnavailable:
    return KubernetesApiUnavailable(f"{what}: the Kubernetes API answered {error.status}")


def read_secret_data(api: client.ApiClient, namespace: str, name: str) -> Mapping[str, str]:
    """The Secret's `data` (base64 values); InvalidSpec when it does not exist."""
    return _read_secret(api, namespace, name)[0]


def _version(secret: client.V1Secret) -> str:
    # The form the operator's Secret index keys versions by: uid and resourceVersion.
    metadata = secret.metadata
    return f"{metadata.uid}:{metadata.resource_version}" if metadata else ""


class SecretData:
    """Secret data this process read, by namespace/name and version (`uid:resourceVersion`, as
    the operator's Secret index holds it), so a plugin pass reads a key Secret that did not
    change from memory instead of the apiserver: every plugin of a team shares one key Secret.
    Values are never shown (no repr of the data)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._read: dict[tuple[str, str], tuple[str, Mapping[str, str]]] = {}

    def __repr__(self) -> str:
        return f"SecretData({len(self._read)} Secrets)"

    def read(
        self, api: client.ApiClient, namespace: str, name: str, version: str | None
    ) -> Mapping[str, str]:
        """The data, from memory when `version` (None: unknown) is the one read before."""
        with self._guard:
            known = self._read.get((namespace, name))
        if known is not None and version is not None and known[0] == version:
            return known[1]
        data, read_version = _read_secret(api, namespace, name)
        with self._guard:
            self._read[(namespace, name)] = (read_version, data)
        return data


def _read_secret(api: client.ApiClient, namespace: str, name: str) -> tuple[Mapping[str, str], str]:
    core = client.CoreV1Api(api)
    try:
        secret = core.read_namespaced_secret(
            name, namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
    except ApiException as e:
        if e.status == NOT_FOUND:
            raise InvalidSpec(
                f"Secret {namespace}/{name} does not exist; create it, and wasmgate picks it up"
            ) from None
        if e.status == FORBIDDEN:
            # The deploy/ RBAC grants Secrets in wasmgate-system only (docs/security.md).
            raise InvalidSpec(
                f"Secret {namespace}/{name}: the operator may not read it; keep the Secrets "
                "wasmgate reads in its own namespace (wasmgate-system) and reference them there"
            ) from None
        raise _unavailable(f"reading Secret {namespace}/{name}", e) from None
    # The API serialises values as base64 text; keep them that way for the parsers.
    data = {
        key: value.decode("ascii") if isinstance(value, bytes) else value
        for key, value in (secret.data or {}).items()
    }
    return data, _version(secret)


def read_plugin(api: client.ApiClient, name: str) -> dict[str, Any] | None:
    """The WasmPlugin as stored now, or None when it is gone."""
    custom = client.CustomObjectsApi(api)
    try:
        body = custom.get_cluster_custom_object(
            GROUP, VERSION, PLUGINS, name, _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
    except ApiException as e:
        if e.status == NOT_FOUND:
            return None
        raise _unavailable(f"reading WasmPlugin {name}", e) from None
    return cast(dict[str, Any], body)


def write_plugin_annotations(api: client.ApiClient, name: str, values: Mapping[str, str]) -> None:
    """Merge-patch annotations of the WasmPlugin."""
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        GROUP,
        VERSION,
        PLUGINS,
        name,
        {"metadata": {"annotations": dict(values)}},
        _request_timeout=REQUEST_TIMEOUT_SECONDS,
    )


def request_reconcile(api: client.ApiClient, name: str, annotation: str, why: str) -> None:
    """Make the operator run the plugin's pipeline again, by changing a trigger annotation."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        write_plugin_annotations(api, name, {annotation: f"{stamp} {why}"})
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
