"""From a stored WasmPlugin body to a pass: recorded inputs, refusals before any stage runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.pipeline_helpers import NOW, Script
from wasmgate.reconcile.deps import NamedPolicy, StageDeps
from wasmgate.reconcile.pipeline import Stage
from wasmgate.reconcile.plugin_pass import (
    INPUTS_ANNOTATION,
    plugin_pass,
    recorded_inputs,
    status_changes,
    with_recorded_inputs,
)

IMAGE = "registry.example/p/filter:v1"


def _body(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "filter", "generation": 3, "annotations": annotations or {}},
        "spec": spec,
    }


def _pass(body: dict[str, Any], raw_policies: list[Any], script: Script) -> Any:
    def make_stages(deps: StageDeps) -> list[Stage]:
        return script.stages()

    def make_deps(policies: list[NamedPolicy]) -> Any:
        return policies

    return plugin_pass(
        body,
        raw_policies=raw_policies,
        secret_version=lambda ns, name: None,
        make_deps=make_deps,
        make_stages=make_stages,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, {}),
        ({INPUTS_ANNOTATION: json.dumps({"verify": "sha256:x"})}, {"verify": "sha256:x"}),
        ({INPUTS_ANNOTATION: "not json"}, {}),
        ({INPUTS_ANNOTATION: "[1, 2]"}, {}),
    ],
    ids=["absent", "recorded", "unreadable", "not-an-object"],
)
def test_recorded_inputs(annotations: dict[str, str], expected: dict[str, str]) -> None:
    assert recorded_inputs(_body({}, annotations)) == expected


def test_inputs_in_status_win_over_the_annotation_an_older_operator_wrote() -> None:
    body = _body({}, {INPUTS_ANNOTATION: json.dumps({"verify": "sha256:old"})})
    body["status"] = {"stageInputs": {"verify": "sha256:new"}}
    assert recorded_inputs(body) == {"verify": "sha256:new"}


def test_a_pass_writes_its_results_and_their_inputs_in_one_status_patch() -> None:
    script = Script()
    outcome = _pass(_body({"source": {"image": IMAGE}}), [], script)
    written = with_recorded_inputs(outcome.status, outcome.inputs)
    assert written["stageInputs"] == outcome.inputs
    assert set(outcome.inputs) == {"resolve", "verify", "validate"}
    # The next pass reads back what this one wrote: nothing left to write.
    assert recorded_inputs({"status": written}) == outcome.inputs
    assert status_changes(written, with_recorded_inputs(outcome.status, outcome.inputs)) == {}
    assert with_recorded_inputs(outcome.status, {})["stageInputs"] is None


def test_a_valid_body_runs_the_stages_with_its_generation() -> None:
    script = Script()
    outcome = _pass(_body({"source": {"image": IMAGE}}), [], script)
    assert script.calls == ["resolve", "verify", "validate"]
    assert outcome.status["observedGeneration"] == 3


def test_a_spec_the_models_refuse_fails_resolution_without_running_a_stage() -> None:
    script = Script()
    outcome = _pass(_body({"source": {"image": IMAGE, "maxSize": 1}}), [], script)
    assert script.calls == []
    resolved = next(c for c in outcome.status["conditions"] if c["type"] == "Resolved")
    assert (resolved["status"], resolved["reason"]) == ("False", "InvalidSpec")
    assert "maxSize" in resolved["message"]
    assert outcome.status["phase"] == "Failed"
    assert outcome.retry is None


def test_an_unreadable_policy_fails_closed() -> None:
    script = Script()
    outcome = _pass(_body({"source": {"image": IMAGE}}), [("corp", {"mode": "Sometimes"})], script)
    assert script.calls == []
    resolved = next(c for c in outcome.status["conditions"] if c["type"] == "Resolved")
    assert (resolved["status"], resolved["reason"]) == ("False", "PolicyViolation")
    assert resolved["message"].startswith("WasmTrustPolicy corp cannot be read")
    assert [e.reason for e in outcome.events] == ["PolicyViolation"]


@pytest.mark.parametrize(
    ("stored", "patch", "changes"),
    [
        ({"phase": "Ready"}, {"phase": "Ready"}, {}),
        ({"phase": "Ready"}, {"phase": "Failed"}, {"phase": "Failed"}),
        ({}, {"signature": None}, {}),
        ({"signature": {"format": "x"}}, {"signature": None}, {"signature": None}),
        ({}, {"digest": "sha256:" + "a" * 64}, {"digest": "sha256:" + "a" * 64}),
    ],
    ids=["unchanged", "changed", "remove-absent", "remove-present", "new-field"],
)
def test_status_changes_keep_only_what_differs(
    stored: dict[str, Any], patch: dict[str, Any], changes: dict[str, Any]
) -> None:
    assert status_changes(stored, patch) == changes
