"""The metrics move as the pipeline, the validator and the rollout hooks report.

Values are read from the prometheus registry before and after each action, so the tests hold in
a process where other tests recorded into the same series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from wasmgate import metrics
from wasmgate.api.conditions import PluginCondition
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.errors import RegistryUnavailable, SignatureInvalid, WasmgateError
from wasmgate.reconcile.pipeline import Outcome, PluginView, Stage, StageResult, run_pipeline
from wasmgate.reconcile.plugin_pass import reconcile_result
from wasmgate.validate.validator import validate

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SPEC = WasmPluginSpec.model_validate({"source": {"image": "registry.example/p/filter:v1"}})
STEPS = (
    ("resolve", PluginCondition.RESOLVED, "Resolved"),
    ("verify", PluginCondition.VERIFIED, "Verified"),
    ("validate", PluginCondition.VALIDATED, "Validated"),
)


def stages(errors: Mapping[str, WasmgateError]) -> list[Stage]:
    """Stages that succeed with a fixed result or raise the error the table names."""

    def make(name: str) -> Callable[[PluginView], StageResult]:
        def run(view: PluginView) -> StageResult:
            if name in errors:
                raise errors[name]
            return StageResult({}, f"{name} done")

        return run

    return [
        Stage(name, condition, reason, make(name), lambda view, n=name: n)
        for name, condition, reason in STEPS
    ]


def view(status: dict[str, Any]) -> PluginView:
    return PluginView("filter", 1, SPEC, status)


def sample(name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def delta(name: str, labels: dict[str, str], action: Callable[[], object]) -> float:
    before = sample(name, **labels)
    action()
    return sample(name, **labels) - before


@pytest.mark.parametrize(
    ("errors", "runs", "result"),
    [
        ({}, {("resolve", "success", "Resolved"): 1, ("validate", "success", "Validated"): 1},
         ("progressing", "Staging")),
        ({"verify": SignatureInvalid("no signature verifies")},
         {("resolve", "success", "Resolved"): 1, ("verify", "failed", "SignatureInvalid"): 1,
          ("validate", "success", "Validated"): 0},
         ("failed", "SignatureInvalid")),
        ({"resolve": RegistryUnavailable("registry.example: connection refused")},
         {("resolve", "retry", "RegistryUnavailable"): 1, ("verify", "success", "Verified"): 0},
         ("retry", "RegistryUnavailable")),
    ],
    ids=["all-pass", "permanent-failure", "temporary-failure"],
)  # fmt: skip
def test_stage_runs_and_the_reconcile_result(
    errors: dict[str, WasmgateError],
    runs: dict[tuple[str, str, str], int],
    result: tuple[str, str],
) -> None:
    before = {key: sample("wasmgate_stage_runs_total", stage=key[0], result=key[1],
                          reason=key[2]) for key in runs}  # fmt: skip
    count_before = sample("wasmgate_stage_duration_seconds_count", stage="resolve")
    outcome = run_pipeline(view({}), stages(errors), recorded={}, now=NOW)
    after = {key: sample("wasmgate_stage_runs_total", stage=key[0], result=key[1],
                         reason=key[2]) for key in runs}  # fmt: skip
    assert {key: after[key] - before[key] for key in runs} == runs
    assert sample("wasmgate_stage_duration_seconds_count", stage="resolve") == count_before + 1
    assert reconcile_result(outcome) == result


def test_a_settled_stage_is_not_counted_again() -> None:
    first = run_pipeline(view({}), stages({}), recorded={}, now=NOW)
    labels = {"stage": "resolve", "result": "success", "reason": "Resolved"}
    again = delta(
        "wasmgate_stage_runs_total",
        labels,
        lambda: run_pipeline(view(first.status), stages({}), recorded=first.inputs, now=NOW),
    )
    assert again == 0


@pytest.mark.parametrize(
    ("step", "steps", "rollbacks"),
    [("Started", 1, 0), ("Succeeded", 1, 0), ("RolledBack", 1, 1)],
    ids=["started", "succeeded", "rolled-back"],
)
def test_record_rollout(step: str, steps: int, rollbacks: int) -> None:
    before_rollbacks = sample("wasmgate_rollbacks_total")
    assert delta("wasmgate_rollout_steps_total", {"step": step},
                 lambda: metrics.record_rollout(step)) == steps  # fmt: skip
    assert sample("wasmgate_rollbacks_total") - before_rollbacks == rollbacks


@pytest.fixture
def plugin() -> Iterator[str]:
    yield "metrics-test-plugin"
    metrics.forget_plugin("metrics-test-plugin")


def test_staging_states_are_set_zeroed_and_forgotten(plugin: str) -> None:
    metrics.set_staging_states(plugin, {"Pulling": 2, "Ready": 1})
    assert sample("wasmgate_staging_nodes", plugin=plugin, state="Pulling") == 2
    metrics.set_staging_states(plugin, {"Ready": 3})
    assert (
        sample("wasmgate_staging_nodes", plugin=plugin, state="Pulling"),
        sample("wasmgate_staging_nodes", plugin=plugin, state="Ready"),
    ) == (0, 3)
    metrics.forget_plugin(plugin)
    assert (
        metrics.registry.get_sample_value(
            "wasmgate_staging_nodes", {"plugin": plugin, "state": "Ready"}
        )
        is None
    )


@pytest.mark.parametrize(
    ("cached", "observed"), [(False, 1), (True, 0)], ids=["ran-a-dry-run", "cache-answered"]
)
def test_validation_cost_counts_only_dry_runs(cached: bool, observed: int) -> None:
    labels = {"verdict": "pass", "reason": "Validated", "cached": str(cached).lower()}
    fuel_before = sample("wasmgate_validation_fuel_sum")
    runs_before = sample("wasmgate_validation_fuel_count")
    counted = delta("wasmgate_validations_total", labels, lambda: metrics.record_validation(
        "pass", "Validated", cached=cached, fuel=12_345, seconds=0.2))  # fmt: skip
    assert counted == 1
    assert sample("wasmgate_validation_fuel_count") - runs_before == observed
    assert sample("wasmgate_validation_fuel_sum") - fuel_before == 12_345 * observed


def test_the_validator_counts_a_module_it_refuses() -> None:
    labels = {"verdict": "fail", "reason": "WasmInvalid", "cached": "false"}
    report_holder: list[object] = []
    counted = delta("wasmgate_validations_total", labels,
                    lambda: report_holder.append(validate(b"not a wasm module")))  # fmt: skip
    assert counted == 1
    assert getattr(report_holder[0], "reason", None) == "WasmInvalid"


def test_fetch_bytes_count_only_successful_fetches() -> None:
    ok_bytes = delta("wasmgate_fetch_bytes_total", {},
                     lambda: metrics.record_fetch("ok", 0.1, 4096))  # fmt: skip
    failed_bytes = delta("wasmgate_fetch_bytes_total", {},
                         lambda: metrics.record_fetch("RegistryUnavailable", 0.1))  # fmt: skip
    assert (ok_bytes, failed_bytes) == (4096, 0)
    assert sample("wasmgate_fetch_duration_seconds_count", result="RegistryUnavailable") >= 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"phase": "Ready", "conditions": [{"type": "Ready", "reason": "RolledOut"}]},
         ("ready", "RolledOut")),
        ({"phase": "Failed", "conditions": [{"type": "Ready", "reason": "WasmInvalid"}]},
         ("failed", "WasmInvalid")),
        ({"phase": "Validating"}, ("progressing", "Unknown")),
    ],
    ids=["ready", "failed", "no-ready-condition"],
)  # fmt: skip
def test_reconcile_result_of_a_finished_pass(
    status: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert reconcile_result(Outcome(status, {}, [], ())) == expected
