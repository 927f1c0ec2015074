"""Two readings of a WasmPlugin as the apiserver returns it (JSON), shared because they must agree.

Staging, rollout and admission all ask which schedulers a plugin names and whether its bytes
passed validation for the current spec; each answering on its own let the default scheduler name
and the "current generation" rule drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.conditions import PluginCondition, find_condition, is_current, parse_conditions
from wasmgate.api.wasmplugin import DEFAULT_SCHEDULER


def scheduler_names(plugin: Mapping[str, Any]) -> list[str]:
    """Names in spec.scheduler.schedulers (the default scheduler when omitted)."""
    settings = (plugin.get("spec") or {}).get("scheduler") or {}
    return [str(name) for name in settings.get("schedulers") or [DEFAULT_SCHEDULER]]


def validated_for_current_spec(plugin: Mapping[str, Any]) -> bool:
    """Whether Validated is True and describes the plugin's current generation."""
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions((plugin.get("status") or {}).get("conditions") or [])
    validated = find_condition(conditions, PluginCondition.VALIDATED)
    return (
        validated is not None
        and validated.status == ConditionStatus.TRUE
        and is_current(validated, generation)
    )
