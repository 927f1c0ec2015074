"""Limits refuse nonsense; reports map their reason to the matching WasmgateError."""

from __future__ import annotations

import pytest

from wasmgate.errors import AbiMismatch, DryRunTrapped, WasmgateError, WasmInvalid
from wasmgate.validate import ValidationLimits, ValidationReport


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"call_fuel": 0}, "ValidationLimits.call_fuel must be a positive integer"),
        ({"nodes": -1}, "ValidationLimits.nodes must be a positive integer"),
        ({"memory_pages": True}, "ValidationLimits.memory_pages must be a positive integer"),
        ({"memory_pages": 65537}, "memory_pages cannot exceed 65536"),
    ],
    ids=["zero-fuel", "negative-nodes", "bool", "over-4gib"],
)
def test_limits_refuse(values: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ValidationLimits(**values)


def test_limits_round_trip_and_refuse_unknown_fields() -> None:
    limits = ValidationLimits(call_fuel=7)

    assert ValidationLimits.from_dict(limits.as_dict()) == limits
    with pytest.raises(ValueError, match="unknown ValidationLimits fields: fuel"):
        ValidationLimits.from_dict({"fuel": 1})


@pytest.mark.parametrize(
    ("reason", "cls", "permanent"),
    [
        ("WasmInvalid", WasmInvalid, True),
        ("AbiMismatch", AbiMismatch, True),
        ("DryRunTrapped", DryRunTrapped, True),
        ("InternalError", WasmgateError, False),
    ],
    ids=["wasm-invalid", "abi-mismatch", "dry-run-trapped", "internal"],
)
def test_failure_maps_reason_to_error_class(
    reason: str, cls: type[WasmgateError], permanent: bool
) -> None:
    verdict = "error" if reason == "InternalError" else "fail"
    report = ValidationReport(
        digest="sha256:00", size=1, verdict=verdict, reason=reason, message="m"
    )

    error = report.failure()

    assert type(error) is cls
    assert (error.reason, error.message, error.permanent) == (reason, "m", permanent)  # type: ignore[union-attr]


def test_status_summary_has_the_shape_of_the_api_validation_status() -> None:
    report = ValidationReport.model_validate(
        {
            "digest": "sha256:00",
            "size": 1,
            "verdict": "pass",
            "extension_points": ["filter"],
            "exports": [
                {"name": "memory", "kind": "memory"},
                {"name": "filter", "kind": "func", "signature": "() -> (i32)"},
            ],
            "imports": [{"module": "k8s.io/api", "name": "node", "kind": "func"}],
            "calls": [
                {"point": "instantiate", "fuel": 3, "micros": 9, "memory_pages": 2},
                {"point": "filter", "node": "node-0", "fuel": 10, "micros": 5, "memory_pages": 3},
            ],
            "costs": [
                {
                    "point": "instantiate",
                    "calls": 1,
                    "fuel_max": 3,
                    "fuel_total": 3,
                    "micros_max": 9,
                    "micros_total": 9,
                },
                {
                    "point": "filter",
                    "calls": 4,
                    "fuel_max": 10,
                    "fuel_total": 40,
                    "micros_max": 5,
                    "micros_total": 20,
                },
            ],
        }
    )

    assert report.status_summary() == {
        "exports": ["filter"],
        "imports": [{"module": "k8s.io/api", "name": "node"}],
        "costs": [{"extensionPoint": "filter", "fuel": 10, "durationMicroseconds": 5}],
        "memoryPages": 3,
        "warnings": [],
    }


def test_limits_for_a_plugin_spend_one_fuel_budget_on_calls_and_start() -> None:
    limits = ValidationLimits.for_plugin(
        fuel=5_000, memory_pages=64, call_timeout_ms=20, start_timeout_ms=300
    )

    assert (limits.call_fuel, limits.start_fuel) == (5_000, 5_000)
    assert (limits.memory_pages, limits.call_time_ms, limits.start_time_ms) == (64, 20, 300)
    assert limits.max_module_bytes == ValidationLimits().max_module_bytes
