"""Which nodes must hold a plugin's bytes: those a WasmScheduler's pods may run on.

A scheduler pod lands only on nodes that match its nodeSelector and whose NoSchedule and
NoExecute taints it tolerates (PreferNoSchedule does not keep it off), so those nodes are the
staging targets. The operator uses this to count `desired`; each node agent uses the same
function on its own node, so both sides agree on who must stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wasmgate.api.toleration import TaintEffect, Toleration, TolerationOperator
from wasmgate.api.wasmscheduler import WasmSchedulerSpec

_BLOCKING_EFFECTS = frozenset({TaintEffect.NO_SCHEDULE.value, TaintEffect.NO_EXECUTE.value})


def _tolerates(toleration: Toleration, taint: Mapping[str, Any]) -> bool:
    # Same matching as k8s.io/api core/v1 Toleration.ToleratesTaint.
    if toleration.effect is not None and toleration.effect.value != taint.get("effect"):
        return False
    if toleration.key is not None and toleration.key != taint.get("key"):
        return False
    if toleration.operator is TolerationOperator.EXISTS:
        return True
    return (toleration.value or "") == (taint.get("value") or "")


def node_is_target(spec: WasmSchedulerSpec, node: Mapping[str, Any]) -> bool:
    """Whether a scheduler pod of `spec` may run on `node` (its JSON as the API returns it)."""
    labels: Mapping[str, str] = node.get("metadata", {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in spec.node_selector.items()):
        return False
    taints: Sequence[Mapping[str, Any]] = node.get("spec", {}).get("taints") or []
    return all(
        taint.get("effect") not in _BLOCKING_EFFECTS
        or any(_tolerates(toleration, taint) for toleration in spec.tolerations)
        for taint in taints
    )


def desired_nodes(
    specs: Iterable[WasmSchedulerSpec], nodes: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Sorted names of nodes that any of the schedulers may run on."""
    spec_list = list(specs)
    return sorted(
        node["metadata"]["name"]
        for node in nodes
        if any(node_is_target(spec, node) for spec in spec_list)
    )
