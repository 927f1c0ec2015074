"""Each dry-run limit stops a guest with a message that names the call and the limit."""

from __future__ import annotations

from support.validate_helpers import wat
from wasmgate.validate import ValidationLimits, validate

ENDLESS_SCORE = wat(
    '(module (memory (export "memory") 1)'
    ' (func (export "score") (result i64) (loop $l (br $l)) (i64.const 0)))'
)


def test_fuel_limit_stops_an_endless_loop() -> None:
    limits = ValidationLimits(call_fuel=100_000, call_time_ms=60_000)

    report = validate(ENDLESS_SCORE, limits=limits)

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message == (
        "score (node node-0) ran out of fuel after 100000 units (spec.limits.fuel): "
        "an endless loop, or too much work for a scheduling call"
    )
    failed = report.calls[-1]
    assert (failed.point, failed.node, failed.fuel) == ("score", "node-0", 100_000)
    assert failed.error == report.message


def test_wall_clock_limit_stops_an_endless_loop() -> None:
    limits = ValidationLimits(call_fuel=10**15, call_time_ms=50)

    report = validate(ENDLESS_SCORE, limits=limits)

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message == (
        "score (node node-0) exceeded its wall-clock budget of 50 ms (spec.limits.callTimeoutMs): "
        "an endless loop, or too much work for a scheduling call"
    )
    assert report.calls[-1].micros >= 50_000
    assert report.calls[-1].fuel is None  # wasmtime does not write fuel back on an interrupt


def test_start_has_its_own_budget() -> None:
    module = wat(
        '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l)))'
        ' (func (export "filter") (result i32) (i32.const 0)))'
    )

    report = validate(module, limits=ValidationLimits(start_fuel=5_000))

    assert report.reason == "DryRunTrapped"
    assert report.message is not None
    assert report.message.startswith("_start ran out of fuel after 5000 units (spec.limits.fuel)")


def test_growing_past_memory_pages_is_a_warning_because_upstream_sets_no_limit() -> None:
    # Grows from 1 to 9 pages on the first call; aborts (like an allocator) if the grow fails.
    module = wat(
        '(module (memory (export "memory") 1) (func (export "filter") (result i32)'
        " (if (i32.eq (memory.size) (i32.const 1)) (then"
        " (if (i32.eq (memory.grow (i32.const 8)) (i32.const -1)) (then unreachable))))"
        " (i32.const 0)))"
    )

    small = validate(module, limits=ValidationLimits(memory_pages=8))
    large = validate(module, limits=ValidationLimits(memory_pages=9))

    assert (small.verdict, small.reason) == ("pass", None)
    assert small.warnings == [
        "guest memory grew to 9 pages (0 MiB) in one scheduling cycle, above "
        "spec.limits.memoryPages (8); upstream sets no limit, so size the scheduler pod's "
        "memory for it"
    ]
    assert (large.verdict, large.warnings) == ("pass", [])
    assert [c.memory_pages for c in large.calls if c.point == "filter"] == [9, 9, 9, 9]


def test_the_validator_child_ceiling_makes_grow_fail_and_the_abort_is_explained() -> None:
    module = wat(
        '(module (memory (export "memory") 1) (func (export "filter") (result i32)'
        " (if (i32.eq (memory.grow (i32.const 3000)) (i32.const -1)) (then unreachable))"
        " (i32.const 0)))"
    )

    report = validate(module, limits=ValidationLimits(child_data_bytes=160 * 1024 * 1024))

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message is not None
    assert report.message.startswith("filter (node node-0) trapped: wasm trap: wasm `unreachable`")
    assert report.message.endswith("(guest memory 1 pages)")


def test_initial_memory_over_the_limit_is_a_warning_because_upstream_allocates_it() -> None:
    module = wat(
        '(module (memory (export "memory") 300)'
        ' (func (export "filter") (result i32) (i32.const 0)))'
    )

    report = validate(module, limits=ValidationLimits(memory_pages=256))

    assert (report.verdict, report.reason) == ("pass", None)
    assert report.warnings == [
        "memory declares 300 initial pages (18 MiB), above spec.limits.memoryPages (256); "
        "upstream allocates them for every guest instance, so size the scheduler pod's memory "
        "for it or declare less and grow on demand"
    ]
    assert report.status_summary()["warnings"] == report.warnings


def test_every_call_gets_a_fresh_fuel_budget() -> None:
    # Each filter call burns ~60% of the budget: it passes only if budgets do not accumulate.
    module = wat(
        '(module (memory (export "memory") 1) (func (export "filter") (result i32) (local $i i32)'
        " (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))"
        " (br_if $l (i32.lt_u (local.get $i) (i32.const 10000)))) (i32.const 0)))"
    )
    calls_fuel = validate(module, limits=ValidationLimits(call_fuel=10**9)).calls
    per_call = max(c.fuel for c in calls_fuel if c.point == "filter")

    report = validate(module, limits=ValidationLimits(call_fuel=int(per_call / 0.6)))

    assert report.verdict == "pass", report.message
    assert len([c for c in report.calls if c.point == "filter"]) == 4
