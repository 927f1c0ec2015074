"""One pass over one WasmScheduler: staging status of its plugins, then one rollout step.

Staging and rollout are judged together because the rollout gate *is* staging: a scheduler rolls
a configuration only when every node it may run on holds every digest the configuration names.
The pass reads schedulers, plugins, nodes and WasmNodeCaches from the operator's watches (a
`Snapshot` of kopf's indexes; listed from the apiserver without one) and its own WasmScheduler
fresh, so a restarted operator needs no memory of earlier passes: the rollout state lives in
WasmScheduler.status, the staging evidence in the WasmNodeCaches. A stale plugin in the snapshot
costs nothing wrong: every write to a plugin is conditional on the resourceVersion it was
computed from.

A failure is contained where it happens, so the status never waits for the next pass to say
what the pass knew: one plugin's staging write failing leaves the others' written and the
rollout step taken; a rollout step failing is written into the WasmScheduler's conditions
before the error goes up (the daemon retries it). Writes happen only for what changed: a
plugin whose listed status already shows its staging is not read again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wasmgate.api.condition import Condition, ConditionStatus
from wasmgate.api.conditions import (
    PluginCondition,
    SchedulerCondition,
    find_condition,
    parse_conditions,
)
from wasmgate.api.plugin_json import in_pipeline, scheduler_names
from wasmgate.api.wasmnodecache import WasmNodeCache
from wasmgate.api.wasmscheduler import PLUGIN_LIMIT_EXCEEDED, WasmSchedulerSpec
from wasmgate.errors import KubernetesApiUnavailable
from wasmgate.reconcile.pipeline import WAITING_REASON, EventType, PipelineEvent
from wasmgate.reconcile.plugin_pass import status_changes
from wasmgate.reconcile.scheduler_deps import SchedulerCluster, Snapshot
from wasmgate.rollout.decision import Decision, Step
from wasmgate.rollout.deps import Known, PluginLock, PluginStatusAccess, Stale
from wasmgate.rollout.marks import carries
from wasmgate.rollout.plugins import plugins_for_scheduler
from wasmgate.rollout.settings import RolloutConfig
from wasmgate.rollout.step import report_failure, rollout_step
from wasmgate.staging.aggregate import ALL_NODES_STAGED, PULLING
from wasmgate.staging.plugin_staging import staged_digests, staging_status

# Steps that end a rollout: the RolledOut marks they set are news worth an Event.
FINISHING_STEPS = frozenset({Step.SUCCEEDED, Step.ROLLED_BACK, Step.FAILED})

logger = logging.getLogger(__name__)


@dataclass
class PassResult:
    """The rollout decision, the Events to post (on the objects whose JSON bodies are given),
    the plugins whose staging status could not be written (the daemon retries soon), and the
    nodes per staging state of each plugin staged, for the metrics.

    The daemon records the staging metrics on kopf's event loop, where the watch reports
    deletions: a pass that listed a plugin just before its deletion would otherwise re-create
    the series of a plugin that no longer exists, after its deletion dropped them."""

    decision: Decision
    events: list[tuple[dict[str, Any], PipelineEvent]] = field(default_factory=list)
    staging_failures: list[str] = field(default_factory=list)
    staging_states: dict[str, dict[str, int]] = field(default_factory=dict)


def describe(error: BaseException) -> str:
    """One line about an error for a condition message (the runner words an API failure in
    one line already)."""
    if isinstance(error, KubernetesApiUnavailable):
        return error.message
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


_ORDINARY_STAGING = frozenset({WAITING_REASON, PULLING, ALL_NODES_STAGED})
"""Staged reasons every plugin passes through on its way to Ready."""


def _staged(status: Mapping[str, Any]) -> Condition | None:
    conditions = parse_conditions(status.get("conditions") or [])
    return find_condition(conditions, PluginCondition.STAGED)


def staging_event(before: Mapping[str, Any], after: Mapping[str, Any]) -> PipelineEvent | None:
    """An Event when the Staged condition's status or reason changed, except along the way
    every plugin goes (waiting, `Pulling`, then `AllNodesStaged`): the condition says it and the
    RolledOut Event follows within seconds; an Event per plugin per step was a large share of
    the operator's API requests for nothing a user acts on. `AllNodesStaged` after anything
    else (a failure, no target nodes, no scheduler) still posts one."""
    old, new = _staged(before), _staged(after)
    if new is None or (old is not None and (old.status, old.reason) == (new.status, new.reason)):
        return None
    if new.reason in _ORDINARY_STAGING:
        after_trouble = old is not None and old.reason not in _ORDINARY_STAGING
        if new.reason != ALL_NODES_STAGED or not after_trouble:
            return None
    kind: EventType = "Warning" if new.status == ConditionStatus.FALSE else "Normal"
    return PipelineEvent(kind, new.reason, f"Staged: {new.message}")


def write_staging(
    cluster: PluginStatusAccess,
    name: str,
    schedulers: Mapping[str, WasmSchedulerSpec],
    nodes: list[dict[str, Any]],
    caches: list[WasmNodeCache],
    hold: PluginLock,
    events: list[tuple[dict[str, Any], PipelineEvent]] | None = None,
    listed: Mapping[str, Any] | None = None,
    states: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any] | None:
    """Recompute one plugin's staging status under its lock and write what changed.

    Returns the plugin as it stands afterwards (None if it is gone); a change of the Staged
    condition is added to `events`, and its nodes per staging state to `states`. With `listed`
    (the plugin as a list just returned it), an unchanged plugin costs no request, and a changed
    one one write, conditional on the listed resourceVersion; only when the plugin changed
    meanwhile is it read again."""
    if listed is not None and not listed["metadata"].get("deletionTimestamp"):
        patch = staging_status(listed, schedulers, nodes, caches, datetime.now(UTC))
        if patch is not None:
            _note_states(states, name, patch["staging"])
        changes = status_changes(listed.get("status") or {}, patch or {})
        if not changes:
            return dict(listed)
        version = listed["metadata"].get("resourceVersion")
        with hold(name):
            written = _write_if_unchanged(cluster, name, version, changes)
        if written is not None:
            _note_event(listed, written, events)
            return written
    with hold(name):
        plugin = cluster.read_plugin(name)
        if plugin is None or plugin["metadata"].get("deletionTimestamp"):
            return None
        patch = staging_status(plugin, schedulers, nodes, caches, datetime.now(UTC))
        if patch is not None:
            _note_states(states, name, patch["staging"])
        changes = status_changes(plugin.get("status") or {}, patch or {})
        if changes:
            cluster.write_plugin_status(name, changes)
            before = dict(plugin)
            plugin["status"] = {**(plugin.get("status") or {}), **changes}
            _note_event(before, plugin, events)
    return plugin


def _write_if_unchanged(
    cluster: PluginStatusAccess, name: str, version: str | None, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Merge-patch the status if the plugin is still at `version`; None if it moved on."""
    if not version:
        return None
    written = cluster.write_plugin_status_at(name, version, changes)
    return None if isinstance(written, Stale) else written


def _note_event(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    events: list[tuple[dict[str, Any], PipelineEvent]] | None,
) -> None:
    event = staging_event(before.get("status") or {}, after.get("status") or {})
    if event is not None and events is not None:
        events.append((dict(after), event))


def _note_states(
    states: dict[str, dict[str, int]] | None, plugin: str, staging: Mapping[str, Any]
) -> None:
    if states is None:
        return
    ready, desired = int(staging.get("ready", 0)), int(staging.get("desired", 0))
    failed = len(staging.get("failingNodes") or [])
    pending = max(desired - ready - failed, 0)
    states[plugin] = {"Ready": ready, "Failed": failed, "Pulling": pending}


def _stage_all(
    cluster: PluginStatusAccess,
    name: str,
    listed: list[dict[str, Any]],
    specs: Mapping[str, WasmSchedulerSpec],
    nodes: list[dict[str, Any]],
    caches: list[WasmNodeCache],
    hold: PluginLock,
    events: list[tuple[dict[str, Any], PipelineEvent]],
    failures: list[str],
    states: dict[str, dict[str, int]],
) -> list[dict[str, Any]]:
    """Write the staging status of every plugin that names scheduler `name`; the plugins as
    they stand afterwards. One plugin's failure is logged and kept in `failures`, and that plugin
    goes on as listed: its staging is written by a later pass, the others' by this one."""
    plugins = []
    for plugin in listed:
        if name not in scheduler_names(plugin):
            continue
        plugin_name = plugin["metadata"]["name"]
        try:
            current = write_staging(
                cluster,
                plugin_name,
                specs,
                nodes,
                caches,
                hold,
                events,
                listed=plugin,
                states=states,
            )
        except (KubernetesApiUnavailable, OSError, ValueError) as e:
            logger.warning("WasmPlugin %s: staging status not written: %s", plugin_name, e)
            failures.append(f"{plugin_name}: {describe(e)}")
            current = plugin
        if current is not None:
            plugins.append(current)
    return plugins


def _limit_event(before: Mapping[str, Any], decision: Decision) -> PipelineEvent | None:
    """An Event when the scheduler goes over its plugin limit, or its left-out set changes, or
    it is back under the limit."""
    old = find_condition(
        parse_conditions(before.get("conditions") or []), SchedulerCondition.CONFIG_RENDERED
    )
    new = find_condition(decision.status.conditions, SchedulerCondition.CONFIG_RENDERED)
    if new is None or (old is not None and (old.reason, old.message) == (new.reason, new.message)):
        return None
    if new.reason == PLUGIN_LIMIT_EXCEEDED:
        return PipelineEvent("Warning", new.reason, new.message)
    if old is not None and old.reason == PLUGIN_LIMIT_EXCEEDED:
        return PipelineEvent("Normal", new.reason, f"back within the plugin limit: {new.message}")
    return None


def scheduler_pass(
    cluster: SchedulerCluster,
    name: str,
    settings: RolloutConfig,
    hold: PluginLock,
    snapshot: Snapshot | None = None,
) -> PassResult | None:
    """Stage-check the scheduler's plugins and take one rollout step; None if it is gone.

    The cluster comes from `snapshot` (the operator's watches) or, without one, is listed;
    the WasmScheduler itself is read fresh either way, because its status is the rollout's
    state and a watch may not have delivered the last step's write yet. A failed rollout step
    is written into the WasmScheduler's conditions, then raised."""
    seen = snapshot if snapshot is not None else cluster.read_snapshot()
    schedulers = {item["metadata"]["name"]: item for item in seen.schedulers}
    if snapshot is not None:
        fresh = cluster.read_scheduler(name)
        schedulers.pop(name, None)
        if fresh is not None:
            schedulers[name] = fresh
    scheduler = schedulers.get(name)
    if scheduler is None or scheduler["metadata"].get("deletionTimestamp"):
        return None
    specs = {
        key: WasmSchedulerSpec.model_validate(item.get("spec") or {})
        for key, item in schedulers.items()
    }
    nodes = seen.nodes
    caches = [WasmNodeCache.model_validate(item) for item in seen.node_caches]
    listed = seen.plugins
    events: list[tuple[dict[str, Any], PipelineEvent]] = []
    failures: list[str] = []
    states: dict[str, dict[str, int]] = {}
    plugins = _stage_all(
        cluster, name, listed, specs, nodes, caches, hold, events, failures, states
    )
    entries = plugins_for_scheduler(plugins, name)
    staged = staged_digests(specs[name], nodes, caches)
    bodies = {plugin["metadata"]["name"]: plugin for plugin in plugins}
    settling = [plugin_name for plugin_name, body in bodies.items() if in_pipeline(body)]
    try:
        decision = rollout_step(
            cluster,
            scheduler,
            entries,
            staged,
            settings=settings,
            hold=hold,
            known=Known(bodies),
            settling=settling,
        )
    except Exception as e:
        message = f"a rollout step failed and is retried: {describe(e)}"
        try:
            report_failure(cluster, scheduler, message, datetime.now(UTC))
        except Exception as report_error:  # the original error matters more; it is raised
            logger.warning("WasmScheduler %s: cannot report the failure: %s", name, report_error)
        raise
    limit_event = _limit_event(scheduler.get("status") or {}, decision)
    if limit_event is not None:
        events.append((scheduler, limit_event))
    if decision.step in FINISHING_STEPS:
        for mark in decision.plugin_marks:
            # A plugin that already carried the mark (each revision of a batch re-marks the
            # plugins it keeps) has no news.
            if mark.name in bodies and not carries(bodies[mark.name], mark):
                kind: EventType = "Normal" if mark.status == ConditionStatus.TRUE else "Warning"
                message = f"RolledOut: {mark.message}"
                events.append((bodies[mark.name], PipelineEvent(kind, mark.reason, message)))
    return PassResult(decision, events, failures, states)
