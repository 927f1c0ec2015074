"""The examples in docs/examples are valid for the models and for the generated CRDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.api_samples import EXAMPLES, OBJECTS, load, openapi_schema
from support.api_server import server_errors
from wasmgate.api.kinds import KINDS

NAMES = {
    "wasmplugin": "spread-by-zone",
    "wasmscheduler": "wasmgate-scheduler",
    "wasmtrustpolicy": "company-plugins-only",
}


def test_there_is_an_example_of_every_kind_people_write() -> None:
    kinds = sorted(load(path)["kind"] for path in EXAMPLES)
    assert kinds == ["WasmPlugin", "WasmScheduler", "WasmTrustPolicy"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_parses(path: Path) -> None:
    data = load(path)
    assert data["apiVersion"] == "wasmgate.dev/v1alpha1"
    parsed = KINDS[data["kind"]].model.model_validate(data)
    assert parsed.metadata.name == NAMES[path.stem]
    assert "status" not in parsed.to_json()


@pytest.mark.parametrize("path", [*EXAMPLES, *OBJECTS], ids=[p.stem for p in [*EXAMPLES, *OBJECTS]])
def test_apiserver_would_accept(path: Path) -> None:
    data = load(path)
    assert server_errors(openapi_schema(data["kind"]), data) == []
