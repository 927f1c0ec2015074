"""Which plugins the next scheduler configuration loads, and which of them change.

A plugin that may not roll now (its rollout failed, or the load gate holds it) is not dropped
from the scheduler: the next configuration carries it as the active revision runs it, so one
bad plugin never takes the others' places or the scheduler down. Only live bytes that lost their
Verified or Validated verdict leave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wasmgate.api.wasmscheduler import SchedulerRevision
from wasmgate.rollout.plugins import PluginEntry, entries_from_config


def active_entries(
    revision_configs: Mapping[str, Mapping[str, Any]], active: SchedulerRevision | None
) -> dict[str, PluginEntry]:
    """The plugins the active revision runs, by name (none without a readable ConfigMap)."""
    return revision_entries(revision_configs, active) or {}


def revision_entries(
    revision_configs: Mapping[str, Mapping[str, Any]], revision: SchedulerRevision | None
) -> dict[str, PluginEntry] | None:
    """The plugins `revision` runs, by name; None without the revision or its ConfigMap."""
    if revision is None or revision.config_map_name not in revision_configs:
        return None
    return entries_from_config(revision_configs[revision.config_map_name], revision.plugins)


def desired_entries(
    plugins: Sequence[PluginEntry], active: Mapping[str, PluginEntry]
) -> list[PluginEntry]:
    """The plugins the next configuration loads: blocked ones as the active revision runs them,
    unless the live bytes themselves lost their Verified or Validated verdict."""
    chosen: list[PluginEntry] = []
    for plugin in plugins:
        live = active.get(plugin.name)
        if not plugin.blocked:
            chosen.append(plugin)
        elif live is not None and not (
            plugin.distrusted and live.layer_digest == plugin.layer_digest
        ):
            chosen.append(live)
    return sorted(chosen, key=lambda entry: entry.name)


def changed_plugins(
    entries: Sequence[PluginEntry], active: Mapping[str, PluginEntry]
) -> list[PluginEntry]:
    """Entries the scheduler would load differently from the active revision (or newly)."""
    return [
        entry
        for entry in entries
        if entry.name not in active or not entry.same_config(active[entry.name])
    ]
