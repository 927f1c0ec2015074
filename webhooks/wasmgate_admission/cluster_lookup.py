"""The `Lookup` of a running operator: reads through the Kubernetes API client.

Errors other than 404 become `LookupFailed`, which the checks turn into warnings: an admission
webhook that denies because it could not read a Secret would block users for our own outage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.api.wasmscheduler import WASMSCHEDULER
from wasmgate.api.wasmtrustpolicy import WASMTRUSTPOLICY
from wasmgate_admission.lookup import LookupFailed, plugins_naming

NOT_FOUND = 404


class ClusterLookup:
    """Reads Secrets and wasmgate objects with one ApiClient."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    def secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            secret = self._core.read_namespaced_secret(name, namespace)
        except ApiException as e:
            if e.status == NOT_FOUND:
                return None
            raise LookupFailed(f"HTTP {e.status} {e.reason}") from e
        return {"data": dict(secret.data or {})}

    def scheduler_exists(self, name: str) -> bool:
        try:
            self._custom.get_cluster_custom_object(GROUP, VERSION, WASMSCHEDULER.plural, name)
        except ApiException as e:
            if e.status == NOT_FOUND:
                return False
            raise LookupFailed(f"HTTP {e.status} {e.reason}") from e
        return True

    def _list(self, plural: str) -> Sequence[Mapping[str, Any]]:
        try:
            listing = cast(
                dict[str, Any], self._custom.list_cluster_custom_object(GROUP, VERSION, plural)
            )
        except ApiException as e:
            raise LookupFailed(f"HTTP {e.status} {e.reason}") from e
        items: list[Mapping[str, Any]] = listing.get("items", [])
        return items

    def trust_policies(self) -> Sequence[Mapping[str, Any]]:
        return self._list(WASMTRUSTPOLICY.plural)

    def plugins(self) -> Sequence[Mapping[str, Any]]:
        return self._list(WASMPLUGIN.plural)

    def scheduler_plugins(self, scheduler: str) -> Sequence[str]:
        return plugins_naming(scheduler, self.plugins())
