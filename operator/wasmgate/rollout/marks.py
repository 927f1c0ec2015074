"""Put a rollout step's RolledOut mark on a WasmPlugin, writing only what it does not carry.

A mark is the one thing a scheduler's rollout writes on another object, while the plugin's own
pass may be writing it too: the write is conditional on the resourceVersion the caller read,
and a plugin that moved on (a new generation) is left for the next step to judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wasmgate.api.conditions import (
    PluginCondition,
    derive_phase,
    dump_conditions,
    find_condition,
    is_current,
    parse_conditions,
    set_condition,
    set_ready_condition,
)
from wasmgate.rollout.decision import PluginMark
from wasmgate.rollout.deps import PluginStatusAccess, Stale


def carries(plugin: Mapping[str, Any], mark: PluginMark) -> bool:
    """Whether the WasmPlugin (JSON) already has the mark for its current generation."""
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions((plugin.get("status") or {}).get("conditions") or [])
    existing = find_condition(conditions, PluginCondition.ROLLED_OUT)
    return (
        existing is not None
        and is_current(existing, generation)
        and (existing.status, existing.reason, existing.message)
        == (mark.status, mark.reason, mark.message)
    )


def mark_status(plugin: Mapping[str, Any], mark: PluginMark, now: datetime) -> dict[str, Any]:
    """The status merge patch that puts `mark` on the plugin (JSON)."""
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions((plugin.get("status") or {}).get("conditions") or [])
    conditions = set_condition(
        conditions,
        type_=PluginCondition.ROLLED_OUT,
        status=mark.status,
        reason=mark.reason,
        message=mark.message,
        observed_generation=generation,
        now=now,
    )
    conditions = set_ready_condition(conditions, generation=generation, now=now)
    return {
        "conditions": dump_conditions(conditions),
        "phase": derive_phase(conditions, generation).value,
    }


def _moved_on(plugin: Mapping[str, Any], mark: PluginMark) -> bool:
    generation = (plugin.get("metadata") or {}).get("generation")
    return mark.generation is not None and generation != mark.generation


def mark_plugin(
    cluster: PluginStatusAccess,
    mark: PluginMark,
    now: datetime,
    seen: Mapping[str, Any] | None = None,
) -> bool:
    """Set RolledOut (and Ready, phase) on a WasmPlugin; False if it changed meanwhile.

    With `seen` (the plugin as the caller just read it) the write is conditional on its
    resourceVersion, so the common case costs one request; a conflict costs a fresh read."""
    version = ((seen or {}).get("metadata") or {}).get("resourceVersion")
    if seen is not None and version and not _moved_on(seen, mark):
        if carries(seen, mark):
            return True
        written = cluster.write_plugin_status_at(mark.name, version, mark_status(seen, mark, now))
        if written is Stale.GONE:
            return False
        if written is not Stale.MOVED_ON:
            return True
    plugin = cluster.read_plugin(mark.name)
    if plugin is None or _moved_on(plugin, mark):
        return False
    if carries(plugin, mark):
        return True
    cluster.write_plugin_status(mark.name, mark_status(plugin, mark, now))
    return True
