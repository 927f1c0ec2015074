"""Staging status written by the plugin's own pipeline pass, in the same status write.

A plugin whose layer the nodes already hold (the next plugin of a burst, a re-applied plugin) is
staged the moment its pipeline passes; writing that in the pass's own patch spares the scheduler
pass a second write per plugin, and the plugin a status that says Staging for a moment. The
scheduler pass still owns staging afterwards: it recomputes the same fields from the same
WasmNodeCaches and writes only what changed. A plugin whose pipeline has not passed gets nothing
here (its staging is the scheduler pass's, as before).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wasmgate.api.plugin_json import scheduler_names
from wasmgate.api.wasmnodecache import WasmNodeCache
from wasmgate.api.wasmscheduler import WasmSchedulerSpec
from wasmgate.reconcile.pipeline import PipelineEvent
from wasmgate.reconcile.scheduler_deps import Snapshot
from wasmgate.reconcile.scheduler_pass import staging_event
from wasmgate.staging.plugin_staging import ready_to_stage, staging_status


def with_staging(
    stored: Mapping[str, Any],
    written: Mapping[str, Any],
    cluster: Snapshot,
    now: datetime,
) -> tuple[dict[str, Any], PipelineEvent | None]:
    """`written` (the pass's status fields) with the staging fields merged in when the pass left
    the plugin ready to stage, and the Event that change of its Staged condition is worth."""
    before = stored.get("status") or {}
    after = {**stored, "status": {**before, **written}}
    if not ready_to_stage(after):
        return dict(written), None
    # Only the schedulers this plugin names: every pass parsing every WasmScheduler grew with
    # plugins times schedulers, and staging_status looks up no other.
    named = set(scheduler_names(after))
    specs = {
        str(item["metadata"]["name"]): WasmSchedulerSpec.model_validate(item.get("spec") or {})
        for item in cluster.schedulers
        if item["metadata"]["name"] in named and not item["metadata"].get("deletionTimestamp")
    }
    caches = [WasmNodeCache.model_validate(item) for item in cluster.node_caches]
    patch = staging_status(after, specs, cluster.nodes, caches, now)
    if patch is None:
        return dict(written), None
    merged = {**written, **patch}
    return merged, staging_event(before, {**before, **merged})
