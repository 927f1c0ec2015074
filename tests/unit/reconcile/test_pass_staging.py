"""The plugin pass writes the staging its results imply, in the same write (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wasmgate.reconcile.pass_staging import with_staging
from wasmgate.reconcile.scheduler_deps import Snapshot

LAYER = "sha256:" + "1" * 64
NOW = datetime(2026, 12, 5, tzinfo=UTC)
STAMP = "2026-12-05T00:00:00Z"
SCHEDULER = {"metadata": {"name": "s"}, "spec": {"image": "registry.example/scheduler:v1"}}
NODE = {"metadata": {"name": "n1", "labels": {}}, "spec": {}}


def _cache(state: str) -> dict[str, Any]:
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmNodeCache",
        "metadata": {"name": "n1"},
        "spec": {"nodeName": "n1"},
        "status": {"entries": [{"digest": LAYER, "state": state, "lastTransitionTime": STAMP}]},
    }


def _passed(validated: str = "True") -> dict[str, Any]:
    """The status fields a pipeline pass wrote: resolved, verified, validated (or not)."""
    conditions = [
        {"type": type_, "status": status, "reason": "R", "message": "", "observedGeneration": 1,
         "lastTransitionTime": STAMP}
        for type_, status in (("Resolved", "True"), ("Verified", "True"), ("Validated", validated))
    ]  # fmt: skip
    return {"digest": "sha256:" + "2" * 64, "layerDigest": LAYER, "conditions": conditions}


STORED = {
    "metadata": {"name": "p", "generation": 1},
    "spec": {"scheduler": {"schedulers": ["s"]}},
    "status": {},
}


def _staged(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Staged")


def test_a_plugin_whose_layer_every_node_holds_is_staged_in_the_same_write() -> None:
    cluster = Snapshot(
        schedulers=[SCHEDULER], plugins=[], nodes=[NODE], node_caches=[_cache("Ready")]
    )

    written, event = with_staging(STORED, _passed(), cluster, NOW)

    assert written["staging"]["ready"] == 1 and written["staging"]["desired"] == 1
    assert _staged(written)["status"] == "True"
    assert written["digest"] == _passed()["digest"]
    assert event is None  # the ordinary path posts no Event


def test_a_plugin_named_for_a_missing_scheduler_says_so_with_an_event() -> None:
    cluster = Snapshot(schedulers=[], plugins=[], nodes=[NODE], node_caches=[])

    written, event = with_staging(STORED, _passed(), cluster, NOW)

    assert _staged(written)["reason"] == "SchedulerNotFound"
    assert event is not None and event.reason == "SchedulerNotFound"


def test_a_plugin_the_pipeline_refused_gets_no_staging_here() -> None:
    cluster = Snapshot(
        schedulers=[SCHEDULER], plugins=[], nodes=[NODE], node_caches=[_cache("Ready")]
    )

    written, event = with_staging(STORED, _passed(validated="False"), cluster, NOW)

    assert written == _passed(validated="False") and event is None
