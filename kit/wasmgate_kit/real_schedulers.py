"""Scheduler pods on the kit run on the real node, as pods of images built here.

kwok nodes run no containers, so a WasmScheduler whose pods should really run (every e2e test and
benchmark that schedules through a plugin, and the demo) selects the real node and tolerates its
taint, and names upstream's scheduler image as the kit pushed it; the operator is told to use
the wasmgate image the kit built for the verify-store init container. With the operator run as
a local process (the tests of its logic), a local agent stages plugins into the real node's
store (`RealNode.var_lib_wasmgate`), which the scheduler pods mount as their hostPath.

Images are pushed once per kit (pushing again would only re-check the blobs).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmgate.rollout.settings import DEFAULT_STORE_ROOT
from wasmgate_kit.errors import KitError
from wasmgate_kit.kit_images import UPSTREAM_SCHEDULER, WASMGATE, push_kit_images
from wasmgate_kit.real_node import NODE_LABEL, TAINT

if TYPE_CHECKING:
    from wasmgate_kit.kit import Kit

IMAGE_REGISTRY = "oci"
"""The kit registry the images are pushed to (it needs no credentials to pull)."""


def kit_images(kit: Kit) -> dict[str, str]:
    """{image name: registry reference} of the kit's images, pushed on first use."""
    if not kit.images:
        kit.images.update(push_kit_images(kit.registries[IMAGE_REGISTRY]))
    return kit.images


def real_node_placement() -> dict[str, Any]:
    """The nodeSelector and tolerations that put a pod on the real node (and only there)."""
    toleration = {"key": TAINT["key"], "operator": "Exists", "effect": TAINT["effect"]}
    return {"nodeSelector": {NODE_LABEL: "true"}, "tolerations": [toleration]}


def scheduler_spec(kit: Kit) -> dict[str, Any]:
    """WasmScheduler spec fields whose pods run upstream's scheduler on the real node."""
    if kit.node is None:
        raise KitError("scheduler pods run on the real node: start the kit with one")
    return {"image": kit_images(kit)[UPSTREAM_SCHEDULER], **real_node_placement()}


def verify_store_flags(kit: Kit) -> list[str]:
    """`wasmgate run` flags for an operator whose scheduler pods run on the real node."""
    return [f"--verify-store-image={kit_images(kit)[WASMGATE]}"]


def real_node_store(kit: Kit) -> Path:
    """The real node's agent store, seen from the host (the scheduler pods' hostPath)."""
    if kit.node is None:
        raise KitError("the kit runs without a real node")
    relative = Path(DEFAULT_STORE_ROOT).relative_to("/var/lib/wasmgate")
    return kit.node.var_lib_wasmgate / relative
