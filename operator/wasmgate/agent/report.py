"""The WasmNodeCache the agent writes: built by pure functions, written with two calls.

The object is named after the node and owned by the Node, so the garbage collector removes it
with the node. Its status lists one entry per digest the node must hold; the operator reads
only these entries to decide whether a rollout may start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import API_VERSION, GROUP, VERSION, rfc3339
from wasmgate.api.wasmnodecache import MAX_CACHE_ENTRIES, WASMNODECACHE, CacheState

HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
_MAX_TEXT = 1024


@dataclass
class EntryState:
    """The agent's record of one digest."""

    state: CacheState
    since: datetime
    size: int | None = None
    verified_at: datetime | None = None
    reason: str | None = None
    last_error: str | None = None
    failures: int = 0
    retry_at: float = 0.0
    held_for: str | None = None
    """The live scheduler revision that keeps the blob while no plugin may load it now."""


def build_entry(digest: str, entry: EntryState) -> dict[str, Any]:
    """One status.entries item."""
    item: dict[str, Any] = {
        "digest": digest,
        "state": entry.state.value,
        "lastTransitionTime": rfc3339(entry.since),
    }
    if entry.size is not None:
        item["size"] = entry.size
    if entry.verified_at is not None:
        item["verifiedAt"] = rfc3339(entry.verified_at)
    if entry.held_for is not None:
        item["heldFor"] = entry.held_for[:_MAX_TEXT]
    if entry.state is CacheState.FAILED:
        item["reason"] = entry.reason or "StagingFailed"
        item["lastError"] = (entry.last_error or "")[:_MAX_TEXT]
    return item


def build_status(
    entries: Mapping[str, EntryState], used_bytes: int, capacity_bytes: int
) -> dict[str, Any]:
    """The WasmNodeCache status: entries sorted by digest, capped, with the summary."""
    items = [build_entry(d, entries[d]) for d in sorted(entries)][:MAX_CACHE_ENTRIES]
    ready = sum(1 for item in items if item["state"] == CacheState.READY.value)
    return {
        "entries": items,
        "summary": f"{ready}/{len(items)}",
        "usedBytes": used_bytes,
        "capacityBytes": capacity_bytes,
    }


def build_node_cache(node_name: str, node_uid: str) -> dict[str, Any]:
    """A new WasmNodeCache for the node, owned by it so it is deleted with it."""
    return {
        "apiVersion": API_VERSION,
        "kind": "WasmNodeCache",
        "metadata": {
            "name": node_name,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}
            ],
        },
        "spec": {"nodeName": node_name},
    }


class CacheWriter:
    """Creates the node's WasmNodeCache once and patches its status when it changes."""

    def __init__(self, api_client: client.ApiClient, node_name: str) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self._node = node_name
        self._last: dict[str, Any] | None = None
        self._exists = False

    def _ensure(self, node_uid: str) -> None:
        if self._exists:
            return
        try:
            self._api.create_cluster_custom_object(
                GROUP, VERSION, WASMNODECACHE.plural, build_node_cache(self._node, node_uid)
            )
        except ApiException as e:
            if e.status != HTTP_CONFLICT:
                raise
        self._exists = True

    def write(self, node_uid: str, status: dict[str, Any]) -> bool:
        """Patch the status if it differs from the last one written; True if it did."""
        if status == self._last:
            return False
        self._ensure(node_uid)
        try:
            self._api.patch_cluster_custom_object_status(
                GROUP, VERSION, WASMNODECACHE.plural, self._node, {"status": status}
            )
        except ApiException as e:
            if e.status == HTTP_NOT_FOUND:
                self._exists = False
            raise
        self._last = status
        return True
