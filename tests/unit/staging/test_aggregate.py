"""status.staging and Staged come only from desired nodes' reports on the exact layer digest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.wasmnodecache import WasmNodeCache
from wasmgate.staging.aggregate import aggregate_staging

LAYER = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
NOW = datetime(2026, 1, 1, tzinfo=UTC)
STAMP = "2026-01-01T00:00:00Z"


def _cache(node: str, *entries: dict[str, Any]) -> WasmNodeCache:
    return WasmNodeCache.model_validate({
        "metadata": {"name": node}, "spec": {"nodeName": node},
        "status": {"entries": [{"lastTransitionTime": STAMP, **e} for e in entries]},
    })  # fmt: skip


READY = {"digest": LAYER, "state": "Ready", "size": 10}
PULLING = {"digest": LAYER, "state": "Pulling"}
FULL = {"digest": LAYER, "state": "Failed", "reason": "StoreFull", "lastError": "needs 10 bytes"}

CASES = [
    ("all-ready", ["n1", "n2"], [_cache("n1", READY), _cache("n2", READY)],
     (2, 2, "2/2", []), (ConditionStatus.TRUE, "AllNodesStaged", "2/2 nodes hold the bytes")),
    ("one-pulling", ["n1", "n2"], [_cache("n1", READY), _cache("n2", PULLING)],
     (1, 2, "1/2", []), (ConditionStatus.UNKNOWN, "Pulling", "waiting for n2")),
    ("no-report", ["n1", "n2"], [_cache("n1", READY)],
     (1, 2, "1/2", []), (ConditionStatus.UNKNOWN, "Pulling", "n2 (no report from its agent)")),
    ("other-digest-is-no-evidence", ["n1"], [_cache("n1", {**READY, "digest": OTHER})],
     (0, 1, "0/1", []), (ConditionStatus.UNKNOWN, "Pulling", "waiting for n1")),
    ("undesired-node-ignored", ["n1"], [_cache("n1", READY), _cache("n9", FULL)],
     (1, 1, "1/1", []), (ConditionStatus.TRUE, "AllNodesStaged", "1/1")),
    ("store-full", ["n1", "n2"], [_cache("n1", READY), _cache("n2", FULL)],
     (1, 2, "1/2", [("n2", "StoreFull", "needs 10 bytes")]),
     (ConditionStatus.UNKNOWN, "StoreFull", "1 failing, first n2: needs 10 bytes")),
    ("no-target-nodes", [], [_cache("n1", READY)],
     (0, 0, "0/0", []), (ConditionStatus.UNKNOWN, "NoTargetNodes", "no node matches")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("desired", "caches", "staging", "staged"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_aggregate(
    desired: list[str],
    caches: list[WasmNodeCache],
    staging: tuple[int, int, str, list[tuple[str, str, str]]],
    staged: tuple[ConditionStatus, str, str],
) -> None:
    result = aggregate_staging(LAYER, desired, caches, [], generation=4, now=NOW)
    got = result.staging
    failing = [(f.node, f.reason, f.message) for f in got.failing_nodes]
    assert (got.ready, got.desired, got.summary, failing) == staging
    [condition] = result.conditions
    assert condition.type == "Staged"
    assert (condition.status, condition.reason) == staged[:2]
    assert staged[2] in condition.message
    assert condition.observed_generation == 4
