"""Which plugins a scheduler loads when more WasmPlugins name it than one scheduler may load.

Admission refuses the plugin that would push a WasmScheduler over MAX_SCHEDULER_PLUGINS, but a
plugin created while the webhook was down slips past. The rollout then goes on with a
deterministic subset instead of building a status the API refuses (which used to fail every
pass): plugins the active revision already runs keep their place, so adding a plugin never
evicts a running one; the free places go to the others in name order. The rest are left out,
and both the WasmScheduler and each left-out plugin say so.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from wasmgate.api.wasmscheduler import MAX_SCHEDULER_PLUGINS, PLUGIN_LIMIT_EXCEEDED
from wasmgate.rollout.plugins import PluginEntry

LIMIT_EXCEEDED = PLUGIN_LIMIT_EXCEEDED
MAX_LISTED = 10


@dataclass(frozen=True)
class Choice:
    """The plugins a configuration loads and the ones left out, each sorted by name."""

    loaded: list[PluginEntry]
    left_out: list[PluginEntry]


def choose(
    entries: Sequence[PluginEntry],
    active: Collection[str],
    limit: int = MAX_SCHEDULER_PLUGINS,
) -> Choice:
    """At most `limit` entries: those named in `active` first, then by name."""
    ranked = sorted(entries, key=lambda entry: (entry.name not in active, entry.name))
    return Choice(
        loaded=sorted(ranked[:limit], key=lambda entry: entry.name),
        left_out=sorted(ranked[limit:], key=lambda entry: entry.name),
    )


def listed(names: Sequence[str]) -> str:
    """The first few names, and how many more."""
    shown = ", ".join(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def scheduler_message(scheduler: str, choice: Choice, limit: int = MAX_SCHEDULER_PLUGINS) -> str:
    """What the WasmScheduler's ConfigRendered condition and Event say."""
    total = len(choice.loaded) + len(choice.left_out)
    return (
        f"{total} WasmPlugins name WasmScheduler {scheduler}, more than the {limit} one "
        f"scheduler loads; left out: {listed([entry.name for entry in choice.left_out])} "
        "(plugins already running keep their place, the rest go in by name); name another "
        "WasmScheduler in their spec.scheduler.schedulers, or delete plugins from this one"
    )


def plugin_message(scheduler: str, limit: int = MAX_SCHEDULER_PLUGINS) -> str:
    """What a left-out plugin's RolledOut condition says."""
    return (
        f"not loaded: WasmScheduler {scheduler} already loads {limit} plugins, the most one "
        "scheduler may; name another WasmScheduler in spec.scheduler.schedulers, or delete a "
        f"plugin that names {scheduler}"
    )
