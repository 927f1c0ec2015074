"""The synthetic cluster a plugin is dry-run against.

Deterministic (same node count, same snapshot) so verdicts and costs are reproducible and
cacheable. Names and labels are chosen so that simple plugins see variety: node names end in
different digits, zones rotate, and each node has a different `wasmgate.dev/score` label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCORE_LABEL = "wasmgate.dev/score"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
DRY_RUN_NAMESPACE = "default"
DRY_RUN_POD_NAME = "wasmgate-dry-run-1"
RUNNING_POD_NAME = "wasmgate-running-0"
SCHEDULER_NAME = "wasmgate-scheduler"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
PAUSE_IMAGE_BYTES = 320_368
ZONES = ("zone-a", "zone-b", "zone-c")


@dataclass(frozen=True)
class SyntheticNode:
    name: str
    labels: dict[str, str]
    capacity: dict[str, str]
    allocatable: dict[str, str]
    images: dict[str, int] = field(default_factory=dict)
    unschedulable: bool = False


@dataclass(frozen=True)
class SyntheticContainer:
    name: str
    image: str
    requests: dict[str, str]
    limits: dict[str, str]


@dataclass(frozen=True)
class SyntheticPod:
    name: str
    namespace: str
    uid: str
    labels: dict[str, str]
    containers: tuple[SyntheticContainer, ...]
    node_name: str = ""
    scheduler_name: str = SCHEDULER_NAME

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ClusterSnapshot:
    nodes: tuple[SyntheticNode, ...]
    pod: SyntheticPod
    """The pod being scheduled (currentPod)."""
    running_pod: SyntheticPod
    """A pod already bound to a node: the targetPod of addpod/removepod."""

    def node(self, name: str) -> SyntheticNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


def _node(index: int) -> SyntheticNode:
    name = f"node-{index}"
    return SyntheticNode(
        name=name,
        labels={
            HOSTNAME_LABEL: name,
            "kubernetes.io/os": "linux",
            ZONE_LABEL: ZONES[index % len(ZONES)],
            SCORE_LABEL: str((index * 37 + 10) % 101),
        },
        capacity={"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        allocatable={"cpu": "3800m", "memory": "15Gi", "pods": "110", "ephemeral-storage": "90Gi"},
        images={PAUSE_IMAGE: PAUSE_IMAGE_BYTES},
    )


def _pod(name: str, serial: int, node_name: str = "") -> SyntheticPod:
    return SyntheticPod(
        name=name,
        namespace=DRY_RUN_NAMESPACE,
        uid=f"00000000-0000-4000-8000-{serial:012d}",
        labels={"app": "wasmgate-dry-run"},
        containers=(
            SyntheticContainer(
                name="app",
                image=PAUSE_IMAGE,
                requests={"cpu": "100m", "memory": "128Mi"},
                limits={"cpu": "500m", "memory": "256Mi"},
            ),
        ),
        node_name=node_name,
    )


def build_snapshot(node_count: int) -> ClusterSnapshot:
    """`node_count` nodes named node-0..node-(n-1), a pending pod and a pod running on node-0."""
    if node_count < 1:
        raise ValueError("a dry run needs at least one node")
    return ClusterSnapshot(
        nodes=tuple(_node(i) for i in range(node_count)),
        pod=_pod(DRY_RUN_POD_NAME, 1),
        running_pod=_pod(RUNNING_POD_NAME, 2, node_name="node-0"),
    )
