"""The report's status summary is exactly what the api's ValidationStatus accepts."""

from __future__ import annotations

from pathlib import Path

from wasmgate.api.validation_status import ValidationStatus
from wasmgate.validate import validate


def test_summary_of_a_real_report_validates_as_the_api_model(wasm_assets: dict[str, Path]) -> None:
    report = validate(wasm_assets["prefilter_node_names"].read_bytes())

    status = ValidationStatus.model_validate(report.status_summary())

    assert [str(e) for e in status.exports] == ["prefilter"]
    assert ("k8s.io/api", "nodeList") in {(i.module, i.name) for i in status.imports}
    (cost,) = status.costs
    assert (str(cost.extension_point), cost.fuel > 0) == ("prefilter", True)
    assert status.memory_pages == report.calls[-1].memory_pages
