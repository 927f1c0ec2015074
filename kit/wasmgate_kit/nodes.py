"""Simulated nodes: Node objects that kwok keeps Ready and whose pods it runs."""

from __future__ import annotations

from typing import Any

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
KIT_NODE_LABEL = "wasmgate.dev/kit-node"
DEFAULT_NODE_COUNT = 3


def kit_node_name(index: int) -> str:
    return f"kit-node-{index}"


def build_node(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Node manifest kwok manages (it watches the annotation) with room for many pods."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                KIT_NODE_LABEL: "true",
                **(labels or {}),
            },
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "phase": "Running",
        },
    }


def node_is_ready(node: Any) -> bool:
    """True when the node's Ready condition is True (works on client objects)."""
    for condition in (node.status.conditions or []) if node.status else []:
        if condition.type == "Ready":
            return bool(condition.status == "True")
    return False
