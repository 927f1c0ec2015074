"""One pass over one WasmScheduler: staging status of its plugins, then one rollout step.

Staging and rollout are judged together because the rollout gate *is* staging: a scheduler rolls
a configuration only when every node it may run on holds every digest the configuration names.
The pass reads everything it needs fresh from the apiserver (schedulers, plugins, nodes,
WasmNodeCaches), so a restarted operator needs no memory of earlier passes: the rollout state
lives in WasmScheduler.status, the staging evidence in the WasmNodeCaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.condition import Condition, ConditionStatus
from wasmgate.api.conditions import PluginCondition, find_condition, parse_conditions
from wasmgate.api.plugin_json import scheduler_names
from wasmgate.api.wasmnodecache import WasmNodeCache
from wasmgate.api.wasmscheduler import WasmSchedulerSpec
from wasmgate.metrics import set_staging_states
from wasmgate.reconcile.pipeline import EventType, PipelineEvent
from wasmgate.reconcile.plugin_pass import status_changes
from wasmgate.rollout.apply import PluginLock, as_json, plugins_for_scheduler, rollout_step
from wasmgate.rollout.machine import Decision, Step
from wasmgate.rollout.settings import RolloutConfig
from wasmgate.stage.plugin_staging import staged_digests, staging_status

SCHEDULERS = "wasmschedulers"
PLUGINS = "wasmplugins"
NODE_CACHES = "wasmnodecaches"
NOT_FOUND = 404
# Steps that end a rollout: the RolledOut marks they set are news worth an Event.
FINISHING_STEPS = frozenset({Step.SUCCEEDED, Step.ROLLED_BACK, Step.FAILED})


@dataclass
class PassResult:
    """The rollout decision, and the Events to post on plugins (their JSON bodies)."""

    decision: Decision
    events: list[tuple[dict[str, Any], PipelineEvent]] = field(default_factory=list)


def _staged(status: Mapping[str, Any]) -> Condition | None:
    conditions = parse_conditions(status.get("conditions") or [])
    return find_condition(conditions, PluginCondition.STAGED)


def _staging_event(before: Mapping[str, Any], after: Mapping[str, Any]) -> PipelineEvent | None:
    """An Event when the Staged condition's status or reason changed."""
    old, new = _staged(before), _staged(after)
    if new is None or (old is not None and (old.status, old.reason) == (new.status, new.reason)):
        return None
    kind: EventType = "Warning" if new.status == ConditionStatus.FALSE else "Normal"
    return PipelineEvent(kind, new.reason, f"Staged: {new.message}")


def _items(custom: client.CustomObjectsApi, plural: str) -> list[dict[str, Any]]:
    listed = cast(dict[str, Any], custom.list_cluster_custom_object(GROUP, VERSION, plural))
    return list(listed.get("items") or [])


def _read_plugin(custom: client.CustomObjectsApi, name: str) -> dict[str, Any] | None:
    try:
        return cast(dict[str, Any], custom.get_cluster_custom_object(GROUP, VERSION, PLUGINS, name))
    except ApiException as e:
        if e.status == NOT_FOUND:
            return None
        raise


def write_staging(
    api: client.ApiClient,
    name: str,
    schedulers: Mapping[str, WasmSchedulerSpec],
    nodes: list[dict[str, Any]],
    caches: list[WasmNodeCache],
    hold: PluginLock,
    events: list[tuple[dict[str, Any], PipelineEvent]] | None = None,
) -> dict[str, Any] | None:
    """Recompute one plugin's staging status under its lock and write what changed.

    Returns the plugin as it stands afterwards (None if it is gone); a change of the Staged
    condition is added to `events`."""
    custom = client.CustomObjectsApi(api)
    with hold(name):
        plugin = _read_plugin(custom, name)
        if plugin is None or plugin["metadata"].get("deletionTimestamp"):
            return None
        patch = staging_status(plugin, schedulers, nodes, caches, datetime.now(UTC))
        if patch is not None:
            _record(name, patch["staging"])
        changes = status_changes(plugin.get("status") or {}, patch or {})
        if changes:
            custom.patch_cluster_custom_object_status(
                GROUP, VERSION, PLUGINS, name, {"status": changes}
            )
            before = plugin.get("status") or {}
            plugin["status"] = {**before, **changes}
            event = _staging_event(before, plugin["status"])
            if event is not None and events is not None:
                events.append((plugin, event))
    return plugin


def _record(plugin: str, staging: Mapping[str, Any]) -> None:
    ready, desired = int(staging.get("ready", 0)), int(staging.get("desired", 0))
    failed = len(staging.get("failingNodes") or [])
    pending = max(desired - ready - failed, 0)
    set_staging_states(plugin, {"Ready": ready, "Failed": failed, "Pulling": pending})


def scheduler_pass(
    api: client.ApiClient, name: str, settings: RolloutConfig, hold: PluginLock
) -> PassResult | None:
    """Stage-check the scheduler's plugins and take one rollout step; None if it is gone."""
    custom = client.CustomObjectsApi(api)
    schedulers = {item["metadata"]["name"]: item for item in _items(custom, SCHEDULERS)}
    scheduler = schedulers.get(name)
    if scheduler is None or scheduler["metadata"].get("deletionTimestamp"):
        return None
    specs = {
        key: WasmSchedulerSpec.model_validate(item.get("spec") or {})
        for key, item in schedulers.items()
    }
    nodes = [as_json(api, node) for node in client.CoreV1Api(api).list_node().items]
    caches = [WasmNodeCache.model_validate(item) for item in _items(custom, NODE_CACHES)]
    plugins = []
    events: list[tuple[dict[str, Any], PipelineEvent]] = []
    for plugin in _items(custom, PLUGINS):
        if name not in scheduler_names(plugin):
            continue
        plugin_name = plugin["metadata"]["name"]
        current = write_staging(api, plugin_name, specs, nodes, caches, hold, events)
        if current is not None:
            plugins.append(current)
    entries = plugins_for_scheduler(plugins, name)
    staged = staged_digests(specs[name], nodes, caches)
    decision = rollout_step(api, scheduler, entries, staged, settings=settings, hold=hold)
    if decision.step in FINISHING_STEPS:
        bodies = {plugin["metadata"]["name"]: plugin for plugin in plugins}
        for mark in decision.plugin_marks:
            if mark.name in bodies:
                kind: EventType = "Normal" if mark.status == ConditionStatus.TRUE else "Warning"
                message = f"RolledOut: {mark.message}"
                events.append((bodies[mark.name], PipelineEvent(kind, mark.reason, message)))
    return PassResult(decision, events)
