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


def test_status_summary_is_compact() -> None:
    report = ValidationReport.model_validate(
        {
            "digest": "sha256:00",
            "size": 1,
            "verdict": "pass",
            "exports": [{"name": "filter", "kind": "func", "signature": "() -> (i32)"}],
            "imports": [{"module": "k8s.io/api", "name": "node", "kind": "func"}],
            "costs": [
                {
                    "point": "filter",
                    "calls": 4,
                    "fuel_max": 10,
                    "fuel_total": 40,
                    "micros_max": 5,
                    "micros_total": 20,
                }
            ],
        }
    )

    assert report.status_summary() == {
        "validatorVersion": "1",
        "digest": "sha256:00",
        "verdict": "pass",
        "exports": ["filter"],
        "imports": ["k8s.io/api.node"],
        "costs": [{"point": "filter", "calls": 4, "fuelMax": 10, "microsMax": 5}],
    }
