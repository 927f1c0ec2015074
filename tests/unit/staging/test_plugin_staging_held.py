"""A plugin the load gate refuses says which live revisions keep its module on the nodes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wasmgate.api.wasmnodecache import WasmNodeCache
from wasmgate.staging.plugin_staging import staging_status

LAYER = "sha256:" + "1" * 64
NOW = datetime(2026, 12, 4, tzinfo=UTC)
STAMP = "2026-12-04T00:00:00Z"


def _plugin(verified: str, staging: dict[str, Any] | None = None) -> dict[str, Any]:
    conditions = [
        {"type": type_, "status": status, "reason": "R", "message": "", "observedGeneration": 1,
         "lastTransitionTime": STAMP}
        for type_, status in (("Verified", verified), ("Validated", "True"))
    ]  # fmt: skip
    status: dict[str, Any] = {
        "digest": "sha256:" + "2" * 64,
        "layerDigest": LAYER,
        "conditions": conditions,
    }
    if staging is not None:
        status["staging"] = staging
    return {"metadata": {"name": "p", "generation": 1}, "spec": {}, "status": status}


def _cache(node: str, held_for: str | None) -> WasmNodeCache:
    entry: dict[str, Any] = {"digest": LAYER, "state": "Ready", "lastTransitionTime": STAMP}
    if held_for is not None:
        entry["heldFor"] = held_for
    return WasmNodeCache.model_validate(
        {
            "apiVersion": "wasmgate.dev/v1alpha1",
            "kind": "WasmNodeCache",
            "metadata": {"name": node},
            "spec": {"nodeName": node},
            "status": {"entries": [entry]},
        }
    )


def test_an_unloadable_plugin_reports_the_revisions_that_hold_its_module() -> None:
    caches = [_cache("n1", "WasmScheduler s, active revision"), _cache("n2", None)]
    before = {"ready": 2, "desired": 2, "summary": "2/2"}

    patch = staging_status(_plugin("Unknown", before), {}, [], caches, NOW)

    assert patch == {
        "staging": {**before, "heldFor": ["WasmScheduler s, active revision"]},
    }


def test_nothing_is_written_for_an_unloadable_plugin_nobody_holds() -> None:
    assert staging_status(_plugin("Unknown"), {}, [], [_cache("n1", None)], NOW) is None


def test_held_for_is_cleared_once_nothing_holds_the_module() -> None:
    previously = {"ready": 1, "desired": 1, "summary": "1/1", "heldFor": ["old"]}

    patch = staging_status(_plugin("Unknown", previously), {}, [], [_cache("n1", None)], NOW)

    assert patch == {"staging": {**previously, "heldFor": []}}
