"""Kubernetes protobuf encodings of the synthetic nodes and pods.

Field numbers are those of k8s.io/api core/v1 `generated.proto` and apimachinery
meta/v1 and resource `generated.proto`:
Node{metadata=1, spec=2, status=3}; NodeList{metadata=1, items=2};
NodeSpec{unschedulable=4}; NodeStatus{capacity=1, allocatable=2, conditions=4, addresses=5,
images=8}; NodeCondition{type=1, status=2}; NodeAddress{type=1, address=2};
ContainerImage{names=1, sizeBytes=2}; Pod{metadata=1, spec=2, status=3};
PodSpec{containers=2, nodeName=10, schedulerName=19}; PodStatus{phase=1};
Container{name=1, image=2, resources=8}; ResourceRequirements{limits=1, requests=2};
ObjectMeta{name=1, namespace=3, uid=5, labels=11}; Quantity{string=1}.
Only fields that are set are written; decoders treat absent and empty alike.
"""

from __future__ import annotations

from wasmgate.validate import protobuf as pb
from wasmgate.validate.snapshot import SyntheticContainer, SyntheticNode, SyntheticPod


def _object_meta(name: str, labels: dict[str, str], namespace: str = "", uid: str = "") -> bytes:
    out = pb.string(1, name)
    if namespace:
        out += pb.string(3, namespace)
    if uid:
        out += pb.string(5, uid)
    return out + pb.string_map(11, labels)


def _quantities(field: int, values: dict[str, str]) -> bytes:
    return pb.map_field(field, {k: pb.string(1, v) for k, v in values.items()})


def encode_node(node: SyntheticNode) -> bytes:
    spec = pb.boolean(4, True) if node.unschedulable else b""
    status = (
        _quantities(1, node.capacity)
        + _quantities(2, node.allocatable)
        + pb.length_delimited(4, pb.string(1, "Ready") + pb.string(2, "True"))
        + pb.length_delimited(5, pb.string(1, "Hostname") + pb.string(2, node.name))
        + pb.messages(
            8,
            (pb.string(1, image) + pb.uint(2, size) for image, size in sorted(node.images.items())),
        )
    )
    return (
        pb.length_delimited(1, _object_meta(node.name, node.labels))
        + pb.length_delimited(2, spec)
        + pb.length_delimited(3, status)
    )


def encode_node_list(nodes: tuple[SyntheticNode, ...]) -> bytes:
    return pb.length_delimited(1, b"") + pb.messages(2, (encode_node(n) for n in nodes))


def _container(container: SyntheticContainer) -> bytes:
    resources = _quantities(1, container.limits) + _quantities(2, container.requests)
    return (
        pb.string(1, container.name)
        + pb.string(2, container.image)
        + pb.length_delimited(8, resources)
    )


def encode_pod(pod: SyntheticPod) -> bytes:
    spec = pb.messages(2, (_container(c) for c in pod.containers))
    if pod.node_name:
        spec += pb.string(10, pod.node_name)
    spec += pb.string(19, pod.scheduler_name)
    phase = "Running" if pod.node_name else "Pending"
    return (
        pb.length_delimited(1, _object_meta(pod.name, pod.labels, pod.namespace, pod.uid))
        + pb.length_delimited(2, spec)
        + pb.length_delimited(3, pb.string(1, phase))
    )
