"""The readings of WasmPlugin JSON that staging, rollout, the agents and admission share."""

from __future__ import annotations

from typing import Any

import pytest

from wasmgate.api.plugin_json import load_refusal, load_verdict_withdrawn, scheduler_names

LAYER = "sha256:" + "1" * 64
MANIFEST = "sha256:" + "2" * 64


def _plugin(generation: int, *conditions: tuple[str, str, int | None]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "generation": generation},
        "spec": {"source": {"image": "registry.example/p:v1"}},
        "status": {
            "digest": MANIFEST,
            "layerDigest": LAYER,
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
            ],
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


BOTH = (("Verified", "True", 2), ("Validated", "True", 2))


def _without(key: str) -> dict[str, Any]:
    plugin = _plugin(2, *BOTH)
    del plugin["status"][key]
    return plugin


def _pinned_elsewhere() -> dict[str, Any]:
    plugin = _plugin(2, *BOTH)
    plugin["spec"]["source"]["digest"] = "sha256:" + "3" * 64
    return plugin


@pytest.mark.parametrize(
    ("plugin", "refusal"),
    [
        (_plugin(2, *BOTH), None),
        (_plugin(2, ("Validated", "True", 2)), "condition Verified is not True"),
        (_plugin(2, ("Verified", "True", 2)), "condition Validated is not True"),
        (
            _plugin(2, ("Verified", "Unknown", 2), ("Validated", "True", 2)),
            "condition Verified is not True",
        ),
        (
            _plugin(3, *BOTH),
            "condition Verified describes generation 2, not the current 3",
        ),
        (
            _plugin(2, ("Verified", "True", None), ("Validated", "True", 2)),
            "condition Verified describes generation None, not the current 2",
        ),
        (_without("layerDigest"), "status names no digest and layerDigest yet"),
        (
            _pinned_elsewhere(),
            f"status.digest {MANIFEST} differs from spec.source.digest sha256:{'3' * 64}",
        ),
    ],
    ids=[
        "verified_and_validated",
        "verified_missing",
        "validated_missing",
        "verified_unknown",
        "stale_generation",
        "generation_not_recorded",
        "no_layer_digest",
        "pin_differs",
    ],
)
def test_the_load_gate(plugin: dict[str, Any], refusal: str | None) -> None:
    assert load_refusal(plugin) == refusal


@pytest.mark.parametrize(
    ("plugin", "withdrawn"),
    [
        (_plugin(2, ("Verified", "False", 2), ("Validated", "True", 2)), True),
        (_plugin(2, ("Verified", "True", 2), ("Validated", "False", 2)), True),
        (_plugin(2, ("Verified", "Unknown", 2), ("Validated", "True", 2)), False),
        (_plugin(3, ("Verified", "False", 2), ("Validated", "True", 2)), False),
        (_plugin(2, *BOTH), False),
    ],
    ids=["verified_false", "validated_false", "unknown", "false_for_old_generation", "passing"],
)
def test_a_verdict_is_withdrawn_only_by_false_for_the_current_generation(
    plugin: dict[str, Any], withdrawn: bool
) -> None:
    assert load_verdict_withdrawn(plugin) is withdrawn
