"""The WasmNodeCache the agent writes is valid against the API model and owned by its Node."""

from __future__ import annotations

from datetime import UTC, datetime

from wasmgate.agent.report import EntryState, build_node_cache, build_status
from wasmgate.api.wasmnodecache import CacheState, WasmNodeCache

WHEN = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def test_status_lists_entries_by_digest_with_reason_only_when_failed() -> None:
    entries = {
        B: EntryState(CacheState.FAILED, WHEN, reason="StoreFull", last_error="no room"),
        A: EntryState(CacheState.READY, WHEN, size=7, verified_at=WHEN),
    }
    status = build_status(entries, used_bytes=7, capacity_bytes=100)
    assert status["summary"] == "1/2"
    assert status["entries"] == [
        {"digest": A, "state": "Ready", "size": 7, "verifiedAt": "2026-01-01T12:00:00Z",
         "lastTransitionTime": "2026-01-01T12:00:00Z"},
        {"digest": B, "state": "Failed", "reason": "StoreFull", "lastError": "no room",
         "lastTransitionTime": "2026-01-01T12:00:00Z"},
    ]  # fmt: skip
    cache = WasmNodeCache.model_validate({**build_node_cache("n1", "uid-1"), "status": status})
    assert cache.status is not None and cache.status.used_bytes == 7


def test_the_cache_is_named_after_and_owned_by_its_node() -> None:
    cache = build_node_cache("kit-node-1", "1234")
    assert cache["metadata"]["name"] == cache["spec"]["nodeName"] == "kit-node-1"
    assert cache["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "kit-node-1", "uid": "1234"}
    ]
