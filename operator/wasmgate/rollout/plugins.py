"""The plugins a scheduler configuration loads, as plain data the builders and the machine share.

A `PluginEntry` is everything one `pluginConfig` item needs (the layer digest names the store
file) plus what the rollout bookkeeping needs (manifest digest, the WasmPlugin generation it came
from). Converters read WasmPlugin JSON and rendered configurations back into entries, so a
rollback can restore a plugin exactly as the last good revision ran it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from wasmgate.api.conditions import PluginCondition, find_condition, parse_conditions
from wasmgate.api.plugin_json import (
    LOAD_CONDITIONS,
    load_verdict_withdrawn,
    may_be_loaded,
    scheduler_names,
)
from wasmgate.api.wasmplugin import DEFAULT_WEIGHT, LOG_SEVERITY_LEVELS, LogSeverity
from wasmgate.api.wasmscheduler import SchedulerPlugin
from wasmgate.errors import RolloutFailed

FILE_SCHEME = "file://"


@dataclass(frozen=True)
class PluginEntry:
    """One wasm plugin as a scheduler configuration loads it."""

    name: str
    digest: str
    layer_digest: str
    guest_config: str = ""
    log_severity: int = LOG_SEVERITY_LEVELS[LogSeverity.INFO]
    weight: int = DEFAULT_WEIGHT
    generation: int | None = None
    rollout_failed_generation: int | None = None
    """Generation whose rollout failed; the plugin is not rolled again until it changes."""
    held: bool = False
    """The load gate refuses the plugin now (say verification cannot reach the registry): a
    live revision keeps running the version it has, nothing new is rolled."""
    distrusted: bool = False
    """Verified or Validated is False for the current generation: if these very bytes are live,
    they go; a different live version keeps running."""
    ready_since: datetime | None = None
    """When the later of its Verified and Validated conditions last changed: how long a change
    has waited for its rollout (rollout.batching)."""

    @property
    def blocked(self) -> bool:
        return self.held or (
            self.rollout_failed_generation is not None
            and self.rollout_failed_generation == self.generation
        )

    def same_config(self, other: PluginEntry) -> bool:
        """Whether the scheduler would load both identically (bookkeeping fields aside)."""
        return (self.layer_digest, self.guest_config, self.log_severity, self.weight) == (
            other.layer_digest,
            other.guest_config,
            other.log_severity,
            other.weight,
        )

    def as_status(self) -> SchedulerPlugin:
        return SchedulerPlugin(name=self.name, digest=self.digest, layer_digest=self.layer_digest)


def guest_url(store_root: str, layer_digest: str) -> str:
    """`file://<store root>/sha256/<hex>`: where the node agent stores the verified layer."""
    algorithm, _, hex_ = layer_digest.partition(":")
    return f"{FILE_SCHEME}{store_root.rstrip('/')}/{algorithm}/{hex_}"


def layer_digest_from_url(url: str) -> str:
    """The digest a guestURL written by `guest_url` names."""
    if not url.startswith(FILE_SCHEME):
        raise RolloutFailed(f"guestURL {url!r} is not a file:// URL wasmgate rendered")
    parts = url[len(FILE_SCHEME) :].rstrip("/").split("/")
    if len(parts) < 2:
        raise RolloutFailed(f"guestURL {url!r} does not end in <algorithm>/<hex>")
    return f"{parts[-2]}:{parts[-1]}"


def _rolled_out_failed_generation(status: Mapping[str, Any]) -> int | None:
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == PluginCondition.ROLLED_OUT
            and condition.get("status") == "False"
            and condition.get("reason") == RolloutFailed.reason
        ):
            generation = condition.get("observedGeneration")
            return int(generation) if generation is not None else None
    return None


def _ready_since(status: Mapping[str, Any]) -> datetime | None:
    conditions = parse_conditions(status.get("conditions") or [])
    found = [find_condition(conditions, type_) for type_ in LOAD_CONDITIONS]
    times = [condition.last_transition_time for condition in found if condition is not None]
    return max(times) if len(times) == len(LOAD_CONDITIONS) else None


def entry_from_wasmplugin(plugin: Mapping[str, Any]) -> PluginEntry | None:
    """The entry of a WasmPlugin (JSON as the apiserver returns it) whose bytes are known.

    None while the plugin has no layer digest yet. Whether it is far enough along the pipeline
    (verified, validated) is the caller's decision; staging is checked by the rollout machine.
    """
    status = plugin.get("status") or {}
    digest, layer = status.get("digest"), status.get("layerDigest")
    if not digest or not layer:
        return None
    settings = (plugin.get("spec") or {}).get("scheduler") or {}
    severity = LogSeverity(settings.get("logSeverity", LogSeverity.INFO.value))
    metadata = plugin.get("metadata") or {}
    return PluginEntry(
        name=str(metadata["name"]),
        digest=str(digest),
        layer_digest=str(layer),
        guest_config=str(settings.get("guestConfig") or ""),
        log_severity=LOG_SEVERITY_LEVELS[severity],
        weight=int(settings.get("weight", DEFAULT_WEIGHT)),
        generation=metadata.get("generation"),
        rollout_failed_generation=_rolled_out_failed_generation(status),
        ready_since=_ready_since(status),
    )


def entries_from_config(
    config: Mapping[str, Any], plugins: Iterable[SchedulerPlugin]
) -> dict[str, PluginEntry]:
    """Entries of a rendered configuration, with manifest digests from the revision's status."""
    digests = {plugin.name: plugin.digest for plugin in plugins}
    entries: dict[str, PluginEntry] = {}
    for profile in config.get("profiles") or []:
        multi_point = (profile.get("plugins") or {}).get("multiPoint") or {}
        enabled = multi_point.get("enabled") or []
        weights = {item.get("name"): int(item.get("weight", DEFAULT_WEIGHT)) for item in enabled}
        for item in profile.get("pluginConfig") or []:
            name, args = item.get("name"), item.get("args") or {}
            if name not in digests or "guestURL" not in args:
                continue
            entries[name] = PluginEntry(
                name=name,
                digest=digests[name],
                layer_digest=layer_digest_from_url(str(args["guestURL"])),
                guest_config=str(args.get("guestConfig", "")),
                log_severity=int(args.get("logSeverity", 0)),
                weight=weights.get(name, DEFAULT_WEIGHT),
            )
    return entries


def plugins_for_scheduler(
    plugins: Iterable[Mapping[str, Any]], scheduler_object: str
) -> list[PluginEntry]:
    """Entries of the WasmPlugins (JSON) that name `scheduler_object`. One the load gate refuses
    (`api.plugin_json.load_refusal`, the agents' gate too) is held: the machine keeps its live
    version, if any, and rolls nothing new for it. Staging is judged by the rollout machine from
    the staged digests it is given."""
    entries: list[PluginEntry] = []
    for plugin in plugins:
        if scheduler_object not in scheduler_names(plugin):
            continue
        entry = entry_from_wasmplugin(plugin)
        if entry is not None and not may_be_loaded(plugin):
            entry = replace(entry, held=True, distrusted=load_verdict_withdrawn(plugin))
        if entry is not None:
            entries.append(entry)
    return entries
