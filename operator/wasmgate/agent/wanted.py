"""Which blobs this node must hold: the agent's whole trust decision, as one pure function.

A node stages a plugin only when the one load gate (`api.plugin_json.load_refusal`, which the
rollout applies too) lets its digest through, and only when a WasmScheduler that loads it may run
on this node. The bytes themselves are checked again when pulled: the manifest must hash to
status.digest and the module to status.layerDigest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from wasmgate.api.plugin_json import load_refusal
from wasmgate.api.refs import SecretRef
from wasmgate.api.scheduler_json import live_layers
from wasmgate.api.wasmplugin import WasmPlugin
from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.staging.targets import node_is_target

T = TypeVar("T")


@dataclass(frozen=True)
class PullSource:
    """Everything needed to pull one blob, taken from a plugin the node must stage."""

    layer_digest: str
    manifest_digest: str
    image: str
    plugin: str
    pull_secret: SecretRef | None
    max_size: int


def _parse(kind: type[WasmPlugin] | type[WasmScheduler], raw: Mapping[str, Any]) -> Any:
    try:
        return kind.model_validate(raw)
    except ValidationError:
        return None


@dataclass(frozen=True)
class PluginReading:
    """One WasmPlugin as the agent reads it: the parsed object (None if it does not match the
    schema) and why its digest may not be staged (None if it may)."""

    plugin: WasmPlugin | None
    refusal: str | None


def _read_plugin(raw: Mapping[str, Any]) -> PluginReading:
    plugin = _parse(WasmPlugin, raw)
    return PluginReading(plugin, None if plugin is None else load_refusal(raw))


class Readings:
    """Readings of objects by kind, uid and resourceVersion, so a reconcile parses only the
    objects that changed since the last one: each plugin status write wakes every agent, and
    parsing all plugins on every wake-up grew with plugins times changes.

    `next_round()` forgets what the last round did not ask for (deleted objects)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[str, Any]] = {}
        self._this: dict[tuple[str, str], tuple[str, Any]] = {}

    def read(self, kind: str, raw: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], T]) -> T:
        metadata = raw.get("metadata") or {}
        key = (kind, str(metadata.get("uid") or metadata.get("name")))
        version = str(metadata.get("resourceVersion") or "")
        known = self._this.get(key) or self._last.get(key)
        if known is not None and version and known[0] == version:
            value: T = known[1]
        else:
            value = parse(raw)
        self._this[key] = (version, value)
        return value

    def next_round(self) -> None:
        self._last, self._this = self._this, {}


def _scheduler(raw: Mapping[str, Any]) -> WasmScheduler | None:
    parsed: WasmScheduler | None = _parse(WasmScheduler, raw)
    return parsed


def wanted_blobs(
    plugins: Iterable[Mapping[str, Any]],
    schedulers: Iterable[Mapping[str, Any]],
    node: Mapping[str, Any],
    readings: Readings | None = None,
) -> tuple[dict[str, PullSource], dict[str, str]]:
    """Layer digest -> pull source for every plugin this node must stage, and plugin name ->
    refusal for plugins aimed at this node that it must not stage (for logs). `readings` keeps
    parsed objects from one call to the next."""
    readings = readings or Readings()
    targets: set[str] = set()
    for raw in schedulers:
        scheduler = readings.read(WasmScheduler.__name__, raw, _scheduler)
        if scheduler is not None and node_is_target(scheduler.spec, node):
            targets.add(str(scheduler.metadata.name))
    wanted: dict[str, PullSource] = {}
    refused: dict[str, str] = {}
    for raw in sorted(plugins, key=lambda p: str(p.get("metadata", {}).get("name"))):
        name = str(raw.get("metadata", {}).get("name"))
        reading = readings.read(WasmPlugin.__name__, raw, _read_plugin)
        plugin = reading.plugin
        if plugin is None:
            refused[name] = "the object does not match the WasmPlugin schema"
            continue
        if not targets.intersection(plugin.spec.scheduler.schedulers):
            continue
        reason = reading.refusal
        if reason is not None:
            refused[name] = reason
            continue
        assert plugin.status is not None and plugin.status.layer_digest is not None
        layer = plugin.status.layer_digest
        wanted.setdefault(
            layer,
            PullSource(
                layer_digest=layer,
                manifest_digest=plugin.status.digest or "",
                image=plugin.spec.source.image,
                plugin=name,
                pull_secret=plugin.spec.source.pull_secret_ref,
                max_size=plugin.spec.source.max_size,
            ),
        )
    return wanted, refused


def pinned_blobs(
    schedulers: Iterable[Mapping[str, Any]],
    node: Mapping[str, Any],
    readings: Readings | None = None,
) -> dict[str, str]:
    """Layer digest -> the live scheduler revision that needs it, for the schedulers that may run
    on this node: the store keeps these whatever the plugins' conditions say."""
    readings = readings or Readings()
    pinned: dict[str, str] = {}
    for raw in schedulers:
        scheduler = readings.read(WasmScheduler.__name__, raw, _scheduler)
        if scheduler is None or not node_is_target(scheduler.spec, node):
            continue
        for layer, label in live_layers(raw).items():
            pinned.setdefault(layer, label)
    return pinned
