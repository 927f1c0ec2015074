"""Which blobs this node must hold: the agent's whole trust decision, as one pure function.

A node stages a plugin only when the operator recorded, for the plugin's current generation,
that its digest was Verified and Validated, and only when a WasmScheduler that loads it may run
on this node. Status that merely looks done (a hand-edited Staged condition, a staging count,
a phase of Ready) is not evidence; only those two conditions, for this generation, are. The
bytes themselves are checked again when pulled: the manifest must hash to status.digest and the
module to status.layerDigest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.conditions import PluginCondition, find_condition
from wasmgate.api.refs import SecretRef
from wasmgate.api.wasmplugin import WasmPlugin
from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.stage.targets import node_is_target

REQUIRED_CONDITIONS = (PluginCondition.VERIFIED, PluginCondition.VALIDATED)


@dataclass(frozen=True)
class PullSource:
    """Everything needed to pull one blob, taken from a plugin the node must stage."""

    layer_digest: str
    manifest_digest: str
    image: str
    plugin: str
    pull_secret: SecretRef | None
    max_size: int


def refusal(plugin: WasmPlugin) -> str | None:
    """Why the plugin's digest must not be staged, or None when it may be."""
    status = plugin.status
    generation = plugin.metadata.generation
    if status is None or status.digest is None or status.layer_digest is None:
        return "status names no digest and layerDigest yet"
    if generation is None:
        return "metadata.generation is missing"
    pin = plugin.spec.source.digest
    if pin is not None and pin != status.digest:
        return f"status.digest {status.digest} differs from spec.source.digest {pin}"
    for type_ in REQUIRED_CONDITIONS:
        condition = find_condition(status.conditions, type_)
        if condition is None or condition.status != ConditionStatus.TRUE:
            return f"condition {type_.value} is not True"
        if condition.observed_generation != generation:
            return (
                f"condition {type_.value} describes generation {condition.observed_generation}, "
                f"not the current {generation}"
            )
    return None


def _parse(kind: type[WasmPlugin] | type[WasmScheduler], raw: Mapping[str, Any]) -> Any:
    try:
        return kind.model_validate(raw)
    except ValidationError:
        return None


def wanted_blobs(
    plugins: Iterable[Mapping[str, Any]],
    schedulers: Iterable[Mapping[str, Any]],
    node: Mapping[str, Any],
) -> tuple[dict[str, PullSource], dict[str, str]]:
    """Layer digest -> pull source for every plugin this node must stage, and plugin name ->
    refusal for plugins aimed at this node that it must not stage (for logs)."""
    targets: set[str] = set()
    for raw in schedulers:
        scheduler = _parse(WasmScheduler, raw)
        if scheduler is not None and node_is_target(scheduler.spec, node):
            targets.add(scheduler.metadata.name)
    wanted: dict[str, PullSource] = {}
    refused: dict[str, str] = {}
    for raw in sorted(plugins, key=lambda p: str(p.get("metadata", {}).get("name"))):
        name = str(raw.get("metadata", {}).get("name"))
        plugin = _parse(WasmPlugin, raw)
        if plugin is None:
            refused[name] = "the object does not match the WasmPlugin schema"
            continue
        if not targets.intersection(plugin.spec.scheduler.schedulers):
            continue
        reason = refusal(plugin)
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
