"""Which blobs the live revisions of a WasmScheduler need, read from its JSON.

The node agents must never collect a blob a scheduler may load: the active configuration, and
the revisions kept for a rollback. That is decided here once, from the WasmScheduler's status,
whatever the conditions of the plugins involved say (a registry outage can make a plugin's
Verified condition Unknown; the scheduler must not lose the bytes it runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate.api.wasmscheduler import RevisionOutcome


def live_layers(scheduler: Mapping[str, Any]) -> dict[str, str]:
    """Layer digest -> the live revision that names it (first found), for one WasmScheduler.

    Live: the active plugins and every kept revision except Failed ones (a failed revision is
    never rolled back to).
    """
    name = str((scheduler.get("metadata") or {}).get("name"))
    status = scheduler.get("status") or {}
    live: dict[str, str] = {}
    for plugin in status.get("plugins") or []:
        if plugin.get("layerDigest"):
            live.setdefault(str(plugin["layerDigest"]), f"WasmScheduler {name}, active revision")
    for revision in status.get("revisions") or []:
        outcome = revision.get("outcome")
        if outcome == RevisionOutcome.FAILED.value:
            continue
        label = f"WasmScheduler {name}, revision {revision.get('revision')} ({outcome})"
        for plugin in revision.get("plugins") or []:
            if plugin.get("layerDigest"):
                live.setdefault(str(plugin["layerDigest"]), label)
    return live
