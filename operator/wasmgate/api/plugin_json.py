"""Readings of a WasmPlugin as the apiserver returns it (JSON), shared because they must agree.

Staging, rollout, the node agents and admission all ask which schedulers a plugin names and
whether its digest may be loaded; each answering on its own let the default scheduler name and
the rules of "may be loaded" drift apart (the agents once required Verified and Validated, the
rollout Validated alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.conditions import PluginCondition, find_condition, parse_conditions
from wasmgate.api.wasmplugin import DEFAULT_SCHEDULER
from wasmgate.api.wasmplugin_status import Phase


def scheduler_names(plugin: Mapping[str, Any]) -> list[str]:
    """Names in spec.scheduler.schedulers (the default scheduler when omitted)."""
    settings = (plugin.get("spec") or {}).get("scheduler") or {}
    return [str(name) for name in settings.get("schedulers") or [DEFAULT_SCHEDULER]]


# What a digest needs before any node stages it or any scheduler configuration names it.
LOAD_CONDITIONS = (PluginCondition.VERIFIED, PluginCondition.VALIDATED)


def load_refusal(plugin: Mapping[str, Any]) -> str | None:
    """Why this plugin's digest must not be staged or loaded now, or None when it may be.

    The one gate: the operator recorded, for the plugin's current generation, that its digest
    was Verified and Validated. Status that merely looks done (a phase of Ready, a Staged
    condition, a condition without observedGeneration) is not evidence.
    """
    status = plugin.get("status") or {}
    generation = (plugin.get("metadata") or {}).get("generation")
    if not status.get("digest") or not status.get("layerDigest"):
        return "status names no digest and layerDigest yet"
    if generation is None:
        return "metadata.generation is missing"
    pin = ((plugin.get("spec") or {}).get("source") or {}).get("digest")
    if pin and pin != status["digest"]:
        return f"status.digest {status['digest']} differs from spec.source.digest {pin}"
    conditions = parse_conditions(status.get("conditions") or [])
    for type_ in LOAD_CONDITIONS:
        condition = find_condition(conditions, type_)
        if condition is None or condition.status != ConditionStatus.TRUE:
            return f"condition {type_.value} is not True"
        if condition.observed_generation != generation:
            return (
                f"condition {type_.value} describes generation {condition.observed_generation}, "
                f"not the current {generation}"
            )
    return None


def may_be_loaded(plugin: Mapping[str, Any]) -> bool:
    """`load_refusal(plugin) is None`: agents may stage the digest, schedulers may load it."""
    return load_refusal(plugin) is None


def load_verdict_withdrawn(plugin: Mapping[str, Any]) -> bool:
    """Whether Verified or Validated is False for the current generation: a verdict against the
    bytes status names, as opposed to one that could not be reached (Unknown) or is pending."""
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions((plugin.get("status") or {}).get("conditions") or [])
    for type_ in LOAD_CONDITIONS:
        condition = find_condition(conditions, type_)
        if (
            condition is not None
            and condition.status == ConditionStatus.FALSE
            and condition.observed_generation == generation
        ):
            return True
    return False


# Phases of a plugin whose pipeline has not reached a verdict yet (api.conditions.derive_phase).
_UNDECIDED_PHASES = frozenset(
    phase.value for phase in (Phase.PENDING, Phase.RESOLVING, Phase.VERIFYING, Phase.VALIDATING)
)


def in_pipeline(plugin: Mapping[str, Any]) -> bool:
    """Whether the pipeline has yet to decide on the plugin's current generation: no pass has
    reported on it, or its first unfinished step is still running (or retrying). A plugin that
    failed, or waits only for staging or rollout, is out of the pipeline; so is one being
    deleted."""
    metadata = plugin.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return False
    status = plugin.get("status") or {}
    if status.get("observedGeneration") != metadata.get("generation"):
        return True
    return status.get("phase") in _UNDECIDED_PHASES
