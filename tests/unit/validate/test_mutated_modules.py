"""Property: whatever bytes arrive, the caller gets a verdict and survives.

Mutations of real plugins (byte flips, insertions, deletions, truncation) reach every layer:
the header check, wasmtime validation, our section parser, the ABI check and the dry run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmgate.errors import AbiMismatch, WasmInvalid
from wasmgate.validate import ValidationLimits, validate
from wasmgate.validate.engine import make_engine
from wasmgate.validate.header import check_header
from wasmgate.validate.report import sha256_digest
from wasmgate.validate.static_check import check_abi, read_interface

SEEDS = ("filter_node_name_suffix", "tinygo_style_wasi_start", "score_node_label")
# Every reason a module can fail for: a mutation may leave a module that runs and answers an
# error status (a flipped byte in a guestConfig rule it matches on), DryRunErrorStatus.
FAIL_REASONS = {"WasmInvalid", "AbiMismatch", "DryRunTrapped", "DryRunErrorStatus"}
# Small budgets keep mutated endless loops short; the property is about survival, not speed.
LIMITS = ValidationLimits(call_fuel=2_000_000, call_time_ms=100, start_time_ms=500)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return bytes(data)


@pytest.fixture(scope="module")
def seeds(wasm_assets: dict[str, Path]) -> list[bytes]:
    return [wasm_assets[name].read_bytes() for name in SEEDS]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_sandboxed_validation_always_returns_a_verdict(
    seeds: list[bytes], data: st.DataObject
) -> None:
    module = data.draw(mutated(seeds))

    report = validate(module, limits=LIMITS)

    assert report.digest == sha256_digest(module)
    assert report.verdict in ("pass", "fail"), report.message
    if report.verdict == "fail":
        assert report.reason in FAIL_REASONS
        assert report.message


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_static_check_raises_only_its_own_errors(seeds: list[bytes], data: st.DataObject) -> None:
    module = data.draw(mutated(seeds))
    engine = make_engine()

    try:
        check_header(module, LIMITS.max_module_bytes)
        points = check_abi(read_interface(engine, module))
    except (WasmInvalid, AbiMismatch) as e:
        assert e.message
    else:
        assert points
