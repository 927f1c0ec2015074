"""From the cluster's nodes and WasmNodeCaches to one plugin's staging status, and to the digests
a scheduler may roll.

Pure functions over the JSON the apiserver returns, so the operator's scheduler pass stays glue.
Two readings of the same reports, on purpose:
- a plugin's `status.staging` counts the nodes of every scheduler that loads it (what a user
  asks: is my plugin everywhere it must be?);
- a scheduler rolls a digest only when every node *that scheduler* may run on reports it Ready,
  read straight from the node reports, never from a plugin's status (which a person can edit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.conditions import (
    PluginCondition,
    derive_phase,
    dump_conditions,
    parse_conditions,
    set_condition,
    set_ready_condition,
)
from wasmgate.api.plugin_json import scheduler_names, validated_for_current_spec
from wasmgate.api.wasmnodecache import CacheState, WasmNodeCache
from wasmgate.api.wasmplugin_status import StagingStatus
from wasmgate.api.wasmscheduler import WasmSchedulerSpec
from wasmgate.stage.aggregate import aggregate_staging
from wasmgate.stage.targets import desired_nodes

NO_SCHEDULER = "SchedulerNotFound"


def ready_to_stage(plugin: Mapping[str, Any]) -> bool:
    """Whether the plugin's bytes passed validation for its current spec (agents then pull)."""
    return bool((plugin.get("status") or {}).get("layerDigest")) and validated_for_current_spec(
        plugin
    )


def staging_status(
    plugin: Mapping[str, Any],
    schedulers: Mapping[str, WasmSchedulerSpec],
    nodes: Sequence[Mapping[str, Any]],
    caches: Sequence[WasmNodeCache],
    now: datetime,
) -> dict[str, Any] | None:
    """The status fields to merge into `plugin`: staging, conditions (Staged, Ready), phase.

    None when the plugin is not ready to stage (its pipeline has not validated the current
    spec); the pipeline's own pass owns its status until then.
    """
    if not ready_to_stage(plugin):
        return None
    status = plugin.get("status") or {}
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions(status.get("conditions") or [])
    wanted = scheduler_names(plugin)
    specs = [schedulers[name] for name in wanted if name in schedulers]
    if specs:
        result = aggregate_staging(
            str(status["layerDigest"]),
            desired_nodes(specs, nodes),
            caches,
            conditions,
            generation=generation,
            now=now,
        )
        staging, conditions = result.staging, result.conditions
    else:
        missing = ", ".join(wanted)
        staging = StagingStatus()
        conditions = set_condition(
            conditions,
            type_=PluginCondition.STAGED,
            status=ConditionStatus.UNKNOWN,
            reason=NO_SCHEDULER,
            message=f"no WasmScheduler named {missing} exists: create it, or list an existing "
            "one in spec.scheduler.schedulers",
            observed_generation=generation,
            now=now,
        )
    conditions = set_ready_condition(conditions, generation=generation, now=now)
    return {
        "staging": staging.to_json(),
        "conditions": dump_conditions(conditions),
        "phase": derive_phase(conditions, generation).value,
    }


def staged_digests(
    spec: WasmSchedulerSpec, nodes: Iterable[Mapping[str, Any]], caches: Iterable[WasmNodeCache]
) -> frozenset[str]:
    """Layer digests every node the scheduler may run on reports Ready (none without nodes)."""
    targets = desired_nodes([spec], nodes)
    if not targets:
        return frozenset()
    ready: dict[str, set[str]] = {}
    for cache in caches:
        if cache.spec.node_name not in targets or cache.status is None:
            continue
        digests = {e.digest for e in cache.status.entries if e.state is CacheState.READY}
        ready[cache.spec.node_name] = digests
    held = [ready.get(node, set()) for node in targets]
    return frozenset(set.intersection(*held))
