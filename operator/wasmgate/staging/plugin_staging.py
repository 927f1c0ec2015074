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
from wasmgate.api.plugin_json import may_be_loaded, scheduler_names
from wasmgate.api.staging_status import MAX_HELD_FOR, StagingStatus
from wasmgate.api.wasmnodecache import CacheState, WasmNodeCache
from wasmgate.api.wasmscheduler import WasmSchedulerSpec
from wasmgate.staging.aggregate import aggregate_staging
from wasmgate.staging.targets import desired_nodes

NO_SCHEDULER = "SchedulerNotFound"


def ready_to_stage(plugin: Mapping[str, Any]) -> bool:
    """Whether agents may pull the plugin's digest: the load gate the agents and rollout use."""
    return may_be_loaded(plugin)


def staging_status(
    plugin: Mapping[str, Any],
    schedulers: Mapping[str, WasmSchedulerSpec],
    nodes: Sequence[Mapping[str, Any]],
    caches: Sequence[WasmNodeCache],
    now: datetime,
) -> dict[str, Any] | None:
    """The status fields to merge into `plugin`: staging, conditions (Staged, Ready), phase.

    When the load gate refuses the plugin (its pipeline has not verified and validated the
    current spec), only `staging.heldFor` is written, when live revisions keep its module; the
    pipeline's own pass owns the rest of its status until then.
    """
    if not ready_to_stage(plugin):
        return _held_staging(plugin, caches)
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


def _held_staging(
    plugin: Mapping[str, Any], caches: Sequence[WasmNodeCache]
) -> dict[str, Any] | None:
    """For a plugin the load gate refuses now: which live revisions keep its module on the nodes
    (None when none does, or when its status names no module yet)."""
    status = plugin.get("status") or {}
    layer = status.get("layerDigest")
    if not layer:
        return None
    held = sorted(
        {
            entry.held_for
            for cache in caches
            if cache.status is not None
            for entry in cache.status.entries
            if entry.digest == layer and entry.held_for
        }
    )
    if not held and not (status.get("staging") or {}).get("heldFor"):
        return None
    return {"staging": {**(status.get("staging") or {}), "heldFor": held[:MAX_HELD_FOR]}}


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
