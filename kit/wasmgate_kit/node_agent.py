"""The real node's agent as a pod, beside an operator run as a local process.

The tests of the operator's logic run `wasmgate run` on the host (kit/system.py), naming the
kit's registries by the host's loopback. The scheduler pods on the real node read the store that
their node's agent fills, and in a cluster both run as UID 65532: the files the agent writes
(mode 0600) are the scheduler's to read because they share that user. A local agent running as
root would write files the scheduler cannot open. So the real node's agent is deploy/agent's
DaemonSet, from the image built here, through an overlay that changes only the image, the flags
(the registries and what a test adds, e.g. a short `--gc-grace`), the placement on the real node
and host networking: the node's loopback shows the kit's registries at the host's ports
(kit/netns_forward.py), so a plugin reference means the same to the agent as to the operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wasmgate_kit.install import (
    AGENT,
    PUBLISHED_WASMGATE_IMAGE,
    add_args,
    json_patch,
    kit_kubectl,
    placement_ops,
    split_image,
    wait_rolled_out,
    write_kustomization,
)
from wasmgate_kit.kit_images import WASMGATE
from wasmgate_kit.paths import repo_root
from wasmgate_kit.real_schedulers import kit_images

if TYPE_CHECKING:
    from wasmgate_kit.kit import Kit


def agent_overlay(image: str, flags: Sequence[str], agent_dir: str) -> dict[str, Any]:
    """The kustomization of deploy/agent (`agent_dir`, relative) for the real node."""
    name, tag = split_image(image)
    pod = "/spec/template/spec"
    operations = [
        *add_args(f"{pod}/containers/0/args/-", list(flags)),
        {"op": "add", "path": f"{pod}/hostNetwork", "value": True},
        *placement_ops("add", pod),
    ]
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [agent_dir],
        "images": [{"name": PUBLISHED_WASMGATE_IMAGE, "newName": name, "newTag": tag}],
        "patches": [json_patch("DaemonSet", AGENT, operations)],
    }


def start_node_agent(kit: Kit, registries: Sequence[str], flags: Sequence[str] = ()) -> None:
    """Apply (or update) the real node's agent with `--plain-http` for `registries` and `flags`
    added; returns once its pod runs them and is Ready."""
    image = kit_images(kit)[WASMGATE]
    args = [*(f"--plain-http={host}" for host in registries), *flags]
    directory = write_kustomization(
        kit.state_dir / "node-agent",
        lambda base: agent_overlay(image, args, base),
        repo_root() / "deploy" / "agent",
    )
    kubectl = kit_kubectl(kit)
    kubectl("apply", "-k", str(directory))
    wait_rolled_out(kubectl, "daemonset", AGENT)
