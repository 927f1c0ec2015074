"""Every test plugin gets its expected verdict, reason and message through the library.

This is the sandboxed path the operator uses: `validate()` runs the rlimited child.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.wasm_assets import ASSET_VERDICTS, padded_module
from wasmgate.errors import AbiMismatch, DryRunTrapped, WasmgateError, WasmInvalid
from wasmgate.validate import ValidationLimits, validate

ERROR_CLASSES: dict[str, type[WasmgateError]] = {
    "WasmInvalid": WasmInvalid,
    "AbiMismatch": AbiMismatch,
    "DryRunTrapped": DryRunTrapped,
}


@pytest.mark.parametrize(
    ("asset", "verdict", "reason", "fragments"), ASSET_VERDICTS, ids=[c[0] for c in ASSET_VERDICTS]
)
def test_asset_gets_expected_verdict(
    wasm_assets: dict[str, Path], asset: str, verdict: str, reason: str | None, fragments: list[str]
) -> None:
    data = wasm_assets[asset].read_bytes()

    report = validate(data)

    assert (report.verdict, report.reason) == (verdict, reason), report.message
    for fragment in fragments:
        assert fragment in (report.message or "")
    if verdict == "pass":
        assert report.message is None
        assert report.failure() is None
        assert report.calls, "a passing module was dry-run"
        assert all(call.error is None for call in report.calls)
    else:
        error = report.failure()
        assert isinstance(error, ERROR_CLASSES[reason or ""])
        assert error.permanent is True
        assert error.message == report.message
        with pytest.raises(ERROR_CLASSES[reason or ""]):
            report.raise_for_verdict()


def test_module_over_the_size_cap_is_refused_without_a_child() -> None:
    data = padded_module(4096)

    report = validate(data, limits=ValidationLimits(max_module_bytes=4095))

    assert (report.verdict, report.reason) == ("fail", "WasmInvalid")
    assert "module is 4096 bytes" in (report.message or "")
    assert "over the cap of 4095 bytes (spec.source.maxSize)" in (report.message or "")
    assert report.calls == []


def test_module_at_the_size_cap_passes() -> None:
    data = padded_module(4096)

    report = validate(data, limits=ValidationLimits(max_module_bytes=4096))

    assert report.verdict == "pass", report.message
    assert report.size == 4096


def test_passing_filter_reports_exports_imports_and_per_node_results(
    wasm_assets: dict[str, Path],
) -> None:
    report = validate(wasm_assets["filter_node_name_suffix"].read_bytes())

    assert [(e.name, e.signature) for e in report.exports] == [
        ("memory", None),
        ("filter", "() -> (i32)"),
    ]
    assert {f"{i.module}.{i.name}" for i in report.imports} == {
        "k8s.io/scheduler.get_config",
        "k8s.io/scheduler.currentNodeName",
        "k8s.io/scheduler.currentPod",
        "k8s.io/scheduler.result.status_reason",
    }
    assert report.extension_points == ["filter"]
    filters = {c.node: (c.status, c.reason) for c in report.calls if c.point == "filter"}
    # The dry-run pod is wasmgate-dry-run-1: only node-1 ends with its last digit.
    assert filters == {
        "node-0": ("Unschedulable", "node node-0 does not end with the pod's last digit 1"),
        "node-1": ("Success", None),
        "node-2": ("Unschedulable", "node node-2 does not end with the pod's last digit 1"),
        "node-3": ("Unschedulable", "node node-3 does not end with the pod's last digit 1"),
    }
    (cost,) = [c for c in report.costs if c.point == "filter"]
    assert cost.calls == 4
    assert 0 < cost.fuel_max <= cost.fuel_total
    assert 0 < cost.micros_max <= cost.micros_total


def test_guest_config_changes_the_filter_rule(wasm_assets: dict[str, Path]) -> None:
    data = wasm_assets["filter_node_name_suffix"].read_bytes()

    inverted = validate(data, guest_config="not-pod-digit")
    suffix = validate(data, guest_config="suffix=-3")

    def admitted(report_calls: list[tuple[str | None, str | None]]) -> list[str | None]:
        return [node for node, status in report_calls if status == "Success"]

    assert admitted([(c.node, c.status) for c in inverted.calls if c.point == "filter"]) == [
        "node-0",
        "node-2",
        "node-3",
    ]
    assert admitted([(c.node, c.status) for c in suffix.calls if c.point == "filter"]) == ["node-3"]
    assert inverted.guest_config == "not-pod-digit"


def test_a_guest_config_the_plugin_rejects_fails_the_dry_run_at_the_first_error(
    wasm_assets: dict[str, Path],
) -> None:
    report = validate(wasm_assets["filter_node_name_suffix"].read_bytes(), guest_config="bogus")

    assert (report.verdict, report.reason) == ("fail", "DryRunErrorStatus")
    assert report.message.startswith("filter (node node-0) answered Error (")
    assert "unknown rule in guestConfig" in report.message
    assert "spec.scheduler.guestConfig" in report.message
    # Upstream hands the Error to the framework, which fails the pod's cycle: no second call.
    assert [(c.point, c.node, c.status) for c in report.calls if c.point == "filter"] == [
        ("filter", "node-0", "Error")
    ]


def test_inverted_variant_defaults_to_the_opposite_rule(wasm_assets: dict[str, Path]) -> None:
    report = validate(wasm_assets["filter_node_name_suffix_inverted"].read_bytes())

    statuses = {c.node: c.status for c in report.calls if c.point == "filter"}
    assert statuses == {
        "node-0": "Success",
        "node-1": "Unschedulable",
        "node-2": "Success",
        "node-3": "Success",
    }


def test_score_plugin_scores_by_label_and_prefilter_narrows_by_zone(
    wasm_assets: dict[str, Path],
) -> None:
    score = validate(wasm_assets["score_node_label"].read_bytes())
    prefilter = validate(wasm_assets["prefilter_node_names"].read_bytes(), guest_config="zone-b")

    # Synthetic nodes carry wasmgate.dev/score = (37 * i + 10) % 101.
    assert {c.node: c.score for c in score.calls if c.point == "score"} == {
        "node-0": 10,
        "node-1": 47,
        "node-2": 84,
        "node-3": 20,
    }
    (call,) = [c for c in prefilter.calls if c.point == "prefilter"]
    assert (call.status, call.node_names) == ("Success", ["node-1"])
    assert "klog[INFO] prefilter narrowed the nodes to one zone" in prefilter.guest_output


def test_tinygo_style_module_runs_start_with_wasi_output(wasm_assets: dict[str, Path]) -> None:
    report = validate(wasm_assets["tinygo_style_wasi_start"].read_bytes())

    assert report.calls[0].point == "_start"
    assert report.guest_output == ["stdout: guest runtime initialized"]
    assert {f"{i.module}.{i.name}" for i in report.imports} == {
        "wasi_snapshot_preview1.fd_write",
        "wasi_snapshot_preview1.random_get",
    }
