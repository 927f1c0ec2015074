"""The host side of the ABI, seen from real guests: buf/limit retries, inputs, results."""

from __future__ import annotations

from support.validate_helpers import wat
from wasmgate.validate import validate

CONFIG_ECHO = wat(
    """
(module
  (import "k8s.io/scheduler" "get_config" (func $config (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "result.status_reason" (func $reason (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "filter") (result i32) (local $need i32)
    (i32.store8 (i32.const 256) (i32.const 0))  ;; memory persists between calls
    ;; limit 0: nothing may be written, the needed size comes back
    (local.set $need (call $config (i32.const 256) (i32.const 0)))
    (if (i32.ne (i32.load8_u (i32.const 256)) (i32.const 0)) (then unreachable))
    ;; one byte short: still nothing written
    (if (i32.gt_u (local.get $need) (i32.const 0)) (then
      (drop (call $config (i32.const 256) (i32.sub (local.get $need) (i32.const 1))))
      (if (i32.ne (i32.load8_u (i32.const 256)) (i32.const 0)) (then unreachable))))
    ;; the size asked for: written, same size returned
    (if (i32.ne (call $config (i32.const 256) (local.get $need)) (local.get $need))
      (then unreachable))
    (call $reason (i32.const 256) (local.get $need))
    (i32.const 2)))
"""
)


def test_getter_writes_only_when_the_value_fits_and_returns_the_size_needed() -> None:
    report = validate(CONFIG_ECHO, guest_config="admit=gpu,zone=b")

    assert report.verdict == "pass", report.message
    reasons = {(c.status, c.reason) for c in report.calls if c.point == "filter"}
    assert reasons == {("Unschedulable", "admit=gpu,zone=b")}


def test_empty_config_returns_zero() -> None:
    report = validate(CONFIG_ECHO)

    assert report.verdict == "pass", report.message
    assert {c.reason for c in report.calls if c.point == "filter"} == {""}


def test_buffer_outside_guest_memory_fails_the_call() -> None:
    module = wat(
        '(module (import "k8s.io/scheduler" "get_config"'
        " (func $config (param i32 i32) (result i32)))"
        ' (memory (export "memory") 1)'
        ' (func (export "filter") (result i32) (call $config (i32.const 65530) (i32.const 100))))'
    )

    report = validate(module, guest_config="0123456789")

    assert (report.verdict, report.reason) == ("fail", "DryRunTrapped")
    assert report.message == (
        "filter (node node-0): the guest's buffer [65530, 65540) is outside its 65536-byte memory"
    )


def test_unreadable_status_reason_is_recorded_as_upstream_does() -> None:
    module = wat(
        '(module (import "k8s.io/scheduler" "result.status_reason" (func $reason (param i32 i32)))'
        ' (memory (export "memory") 1)'
        ' (func (export "filter") (result i32) (call $reason (i32.const 65000) (i32.const 9999))'
        " (i32.const 1)))"
    )

    report = validate(module)

    # Error on every node fails the dry run; the unreadable reason is recorded all the same.
    assert (report.verdict, report.reason) == ("fail", "DryRunErrorStatus"), report.message
    assert "BUG: out of memory reading message" in report.message
    assert {(c.status, c.reason) for c in report.calls if c.point == "filter"} == {
        ("Error", "BUG: out of memory reading message")
    }


# A guest that exports every extension point and echoes what the host hands it.
FULL_CYCLE = wat(
    r"""
(module
  (import "k8s.io/scheduler" "currentNodeName" (func $node (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "filteredNodeList" (func $filtered (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "nodeToStatusMap" (func $statuses (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "nodeScoreList" (func $scores (param i32 i32) (result i32)))
  (import "k8s.io/scheduler" "result.status_reason" (func $reason (param i32 i32)))
  (import "k8s.io/scheduler" "result.node_names" (func $names (param i32 i32)))
  (import "k8s.io/scheduler" "result.nominated_node_name" (func $nominated (param i32 i32)))
  (import "k8s.io/scheduler" "result.normalized_score_list" (func $normalized (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "node-1\00node-2\00")
  (data (i32.const 64) "{\"node-1\":100}")
  (func $echo (param $len i32) (call $reason (i32.const 1024) (local.get $len)))
  (func (export "enqueue"))
  (func (export "prefilter") (result i32) (call $names (i32.const 0) (i32.const 14)) (i32.const 0))
  (func (export "filter") (result i32)
    (drop (call $node (i32.const 512) (i32.const 64)))
    (if (result i32) (i32.eq (i32.load8_u (i32.const 517)) (i32.const 49))
      (then (i32.const 0)) (else (i32.const 2))))
  (func (export "postfilter") (result i64)
    (call $echo (call $statuses (i32.const 1024) (i32.const 4096)))
    (call $nominated (i32.const 0) (i32.const 6))
    (i64.const 0))
  (func (export "prescore") (result i32)
    (call $echo (call $filtered (i32.const 1024) (i32.const 4096))) (i32.const 0))
  (func (export "score") (result i64) (i64.const 0x0000000700000000))
  (func (export "normalizescore") (result i32)
    (call $echo (call $scores (i32.const 1024) (i32.const 4096)))
    (call $normalized (i32.const 64) (i32.const 14))
    (i32.const 0))
  (func (export "reserve") (result i32)
    (call $echo (call $node (i32.const 1024) (i32.const 64))) (i32.const 0))
  (func (export "permit") (result i64) (i64.const 0x00000004000003e8))
  (func (export "prebind") (result i32) (i32.const 0))
  (func (export "bind") (result i32) (i32.const 5))
  (func (export "postbind"))
  (func (export "unreserve")))
"""
)


def test_full_cycle_feeds_each_point_the_results_of_the_previous_ones() -> None:
    report = validate(FULL_CYCLE)

    assert report.verdict == "pass", report.message
    summary = [
        (c.point, c.node, c.status, c.reason, c.score, c.node_names)
        for c in report.calls
        if c.point != "instantiate"
    ]
    assert summary == [
        ("enqueue", None, None, None, None, None),
        ("prefilter", None, "Success", None, None, ["node-1", "node-2"]),
        ("filter", "node-1", "Success", None, None, None),
        ("filter", "node-2", "Unschedulable", None, None, None),
        ("postfilter", None, "Success", '{"node-2":2}', None, None),
        ("prescore", None, "Success", '["node-1"]', None, None),
        ("score", "node-1", "Success", None, 7, None),
        ("normalizescore", None, "Success", '{"node-1":7}', None, None),
        ("reserve", None, "Success", "node-1", None, None),
        ("permit", None, "Wait", None, None, None),
        ("prebind", None, "Success", None, None, None),
        ("bind", None, "Skip", None, None, None),
        ("postbind", None, None, None, None, None),
        ("unreserve", None, None, None, None, None),
    ]
    by_point = {c.point: c for c in report.calls}
    assert by_point["postfilter"].nominated_node_name == "node-1"
    assert by_point["normalizescore"].normalized_scores == {"node-1": 100}
    assert by_point["permit"].permit_timeout_ms == 1000
    assert [c.point for c in report.costs] == [
        "instantiate",
        *("enqueue", "prefilter", "filter", "postfilter", "prescore", "score"),
        *("normalizescore", "reserve", "permit", "prebind", "bind", "postbind", "unreserve"),
    ]


def test_normalizescore_that_sets_no_list_keeps_the_node_scores_as_upstream_does() -> None:
    module = wat(
        '(module (memory (export "memory") 1)'
        ' (func (export "score") (result i64) (i64.const 0x0000000a00000000))'
        ' (func (export "normalizescore") (result i32) (i32.const 0)))'
    )

    report = validate(module)

    # upstream plugin/guest.go normalizeScore: no list from the guest -> the node score list.
    assert (report.verdict, report.reason, report.warnings) == ("pass", None, [])
    (call,) = [c for c in report.calls if c.point == "normalizescore"]
    assert (call.status, call.normalized_scores) == ("Success", None)


def test_normalizescore_that_sets_a_partial_list_would_crash_the_scheduler() -> None:
    module = wat(
        '(module (import "k8s.io/scheduler" "result.normalized_score_list"'
        ' (func $set (param i32 i32))) (memory (export "memory") 1)'
        ' (data (i32.const 0) "{\\"node-1\\":7}")'
        ' (func (export "score") (result i64) (i64.const 0x0000000a00000000))'
        ' (func (export "normalizescore") (result i32)'
        " (call $set (i32.const 0) (i32.const 12)) (i32.const 0)))"
    )

    report = validate(module)

    assert (report.verdict, report.reason) == ("fail", "AbiMismatch")
    assert report.message == (
        "normalizescore set 1 normalized scores for 4 nodes (result.normalized_score_list); "
        "upstream panics on a size mismatch, crashing the scheduler"
    )
