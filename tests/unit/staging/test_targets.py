"""Desired nodes follow the scheduler's nodeSelector and its tolerations of blocking taints."""

from __future__ import annotations

from typing import Any

import pytest

from wasmgate.api.wasmscheduler import WasmSchedulerSpec
from wasmgate.staging.targets import desired_nodes, node_is_target

CONTROL = "node-role.kubernetes.io/control-plane"


def _node(name: str, labels: dict[str, str], *taints: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": list(taints)}}


def _spec(selector: dict[str, str], *tolerations: dict[str, Any]) -> WasmSchedulerSpec:
    return WasmSchedulerSpec.model_validate(
        {"image": "reg.example/s:v1", "nodeSelector": selector, "tolerations": list(tolerations)}
    )


NO_SCHEDULE = {"key": CONTROL, "effect": "NoSchedule"}
CASES = [
    ("empty-selector-untainted", _spec({}), _node("a", {}), True),
    ("selector-matches", _spec({"role": "s"}), _node("a", {"role": "s"}), True),
    ("selector-value-differs", _spec({"role": "s"}), _node("a", {"role": "w"}), False),
    ("selector-label-missing", _spec({"role": "s"}), _node("a", {}), False),
    ("noschedule-not-tolerated", _spec({}), _node("a", {}, NO_SCHEDULE), False),
    ("noschedule-tolerated-exists",
     _spec({}, {"key": CONTROL, "operator": "Exists", "effect": "NoSchedule"}),
     _node("a", {}, NO_SCHEDULE), True),
    ("tolerate-everything", _spec({}, {"operator": "Exists"}),
     _node("a", {}, {"key": "x", "value": "y", "effect": "NoExecute"}), True),
    ("equal-value-differs", _spec({}, {"key": "x", "value": "1"}),
     _node("a", {}, {"key": "x", "value": "2", "effect": "NoSchedule"}), False),
    ("toleration-for-other-effect",
     _spec({}, {"key": "x", "operator": "Exists", "effect": "NoSchedule"}),
     _node("a", {}, {"key": "x", "effect": "NoExecute"}), False),
    ("prefer-no-schedule-does-not-block", _spec({}),
     _node("a", {}, {"key": "x", "effect": "PreferNoSchedule"}), True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "node", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_node_is_target(spec: WasmSchedulerSpec, node: dict[str, Any], expected: bool) -> None:
    assert node_is_target(spec, node) is expected


def test_desired_nodes_is_the_sorted_union_over_schedulers() -> None:
    nodes = [_node("c", {"pool": "b"}), _node("a", {"pool": "a"}), _node("b", {"pool": "x"})]
    specs = [_spec({"pool": "b"}), _spec({"pool": "a"})]
    assert desired_nodes(specs, nodes) == ["a", "c"]
    assert desired_nodes([], nodes) == []
