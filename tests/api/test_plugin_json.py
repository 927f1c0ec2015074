"""The two readings of WasmPlugin JSON that staging, rollout and admission share."""

from __future__ import annotations

from typing import Any

import pytest

from wasmgate.api.plugin_json import scheduler_names, validated_for_current_spec


def _plugin(generation: int, *conditions: tuple[str, str, int | None]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "generation": generation},
        "status": {
            "conditions": [
                {
                    "type": type_,
                    "status": status,
                    "reason": "R",
                    "message": "",
                    "lastTransitionTime": "2026-11-24T00:00:00Z",
                    **({"observedGeneration": observed} if observed is not None else {}),
                }
                for type_, status, observed in conditions
            ]
        },
    }


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ({}, ["wasmgate-scheduler"]),
        ({"scheduler": {}}, ["wasmgate-scheduler"]),
        ({"scheduler": {"schedulers": []}}, ["wasmgate-scheduler"]),
        ({"scheduler": {"schedulers": ["blue", "red"]}}, ["blue", "red"]),
    ],
    ids=["no_scheduler_settings", "no_list", "empty_list", "named"],
)
def test_scheduler_names_default_to_the_default_scheduler(
    spec: dict[str, Any], names: list[str]
) -> None:
    assert scheduler_names({"spec": spec}) == names


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (_plugin(2, ("Validated", "True", 2)), True),
        (_plugin(2, ("Validated", "True", None)), True),
        (_plugin(3, ("Validated", "True", 2)), False),
        (_plugin(2, ("Validated", "Unknown", 2)), False),
        (_plugin(2, ("Verified", "True", 2)), False),
    ],
    ids=["current", "generation_unknown", "stale", "not_true", "absent"],
)
def test_validated_for_current_spec(plugin: dict[str, Any], expected: bool) -> None:
    assert validated_for_current_spec(plugin) is expected
