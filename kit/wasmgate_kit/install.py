"""Install wasmgate on the kit's real node the documented way: `kubectl apply -k` of deploy/.

A user installs with `kubectl apply -k deploy/crds`, waits for the CRDs, then `kubectl apply -k
deploy/` (docs/operations.md). The kit does the same with an overlay of deploy/ written under its
state dir, which changes only what the kit's machine needs:

- image names: the wasmgate image built from the Containerfile and upstream's scheduler image,
  both pushed to a kit registry (kit/kit_images.py); containerd pulls them over the node's
  loopback, where the forwarder shows the registries at the host's ports;
- the kit's registries speak plain HTTP: the operator and the agents reach them at the node's
  address (a pod's own loopback is not the node's), so those hosts are named plain-HTTP;
- placement: the operator, the agents and the scheduler pods run on the real node (its label and
  taint keep pods written for kwok nodes off it), not on a control-plane node.

Everything else, RBAC, securityContext, probes, resources, volumes, the webhook, the default
WasmTrustPolicy, is deploy/'s own and runs as written.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from wasmgate_kit.errors import KitError
from wasmgate_kit.kit_images import UPSTREAM_SCHEDULER, WASMGATE
from wasmgate_kit.paths import repo_root
from wasmgate_kit.real_schedulers import kit_images, real_node_placement
from wasmgate_kit.wait import wait_for

if TYPE_CHECKING:
    from wasmgate_kit.kit import Kit

PUBLISHED_WASMGATE_IMAGE = "ghcr.io/wasmgate/wasmgate"
NAMESPACE = "wasmgate-system"
OPERATOR = "wasmgate-operator"
AGENT = "wasmgate-agent"
SCHEDULER = "wasmgate-scheduler"
CRDS_ESTABLISHED_TIMEOUT = "60s"
ROLLOUT_TIMEOUT = 240.0
KUBECTL_TIMEOUT = 300
Kubectl = Callable[..., str]


@dataclass(frozen=True)
class KitInstall:
    """What the overlay changes: the images, plain-HTTP registry hosts, where pods run."""

    wasmgate_image: str
    """Registry reference of the image built from the Containerfile."""
    scheduler_image: str
    """Registry reference of upstream's scheduler image."""
    plain_http: tuple[str, ...]
    """host:port of each kit registry as pods reach it (the node's address)."""


def split_image(reference: str) -> tuple[str, str]:
    """(name, tag) of `name:tag`; a registry port's colon is part of the name."""
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        raise ValueError(f"image reference {reference!r} has no tag")
    return name, tag


def json_patch(kind: str, name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A kustomize patch of the object `kind`/`name`: JSON patch `operations`."""
    target: dict[str, str] = {"kind": kind, "name": name}
    return {"target": target, "patch": json.dumps(operations)}


def add_args(path: str, args: list[str]) -> list[dict[str, Any]]:
    """Operations appending `args` to the list at `path` (ending in `/-`)."""
    return [{"op": "add", "path": path, "value": arg} for arg in args]


def placement_ops(op: str, prefix: str) -> list[dict[str, Any]]:
    """Operations setting nodeSelector and tolerations under `prefix` to the real node's."""
    placement = real_node_placement()
    return [
        {"op": op, "path": f"{prefix}/{field}", "value": placement[field]}
        for field in ("nodeSelector", "tolerations")
    ]


def overlay(install: KitInstall, deploy_dir: str) -> dict[str, Any]:
    """The kit's kustomization of `deploy_dir` (deploy/, relative to the overlay: kustomize
    refuses an absolute root)."""
    name, tag = split_image(install.wasmgate_image)
    pod = "/spec/template/spec"
    first = f"{pod}/containers/0/args/-"
    operator_args = [f"--plain-http-registry={host}" for host in install.plain_http]
    agent_args = [f"--plain-http={host}" for host in install.plain_http]
    scheduler: list[dict[str, Any]] = [
        {"op": "replace", "path": "/spec/image", "value": install.scheduler_image},
        *placement_ops("replace", "/spec"),
    ]
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [deploy_dir],
        "images": [{"name": PUBLISHED_WASMGATE_IMAGE, "newName": name, "newTag": tag}],
        "patches": [
            json_patch("Deployment", OPERATOR,
                        add_args(first, operator_args) + placement_ops("add", pod)),
            json_patch("DaemonSet", AGENT, add_args(first, agent_args) + placement_ops("add", pod)),
            json_patch("WasmScheduler", SCHEDULER, scheduler),
        ],
    }  # fmt: skip


def write_overlay(directory: Path, install: KitInstall, deploy_dir: Path) -> Path:
    """Write the overlay's kustomization.yaml into `directory`; returns the directory."""
    return write_kustomization(directory, lambda base: overlay(install, base), deploy_dir)


def write_kustomization(
    directory: Path, kustomization: Callable[[str], dict[str, Any]], base: Path
) -> Path:
    """Write `kustomization(path of base relative to directory)` as directory's
    kustomization.yaml (kustomize refuses an absolute base); returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(base.resolve(), directory.resolve())
    text = yaml.safe_dump(kustomization(relative), sort_keys=False)
    (directory / "kustomization.yaml").write_text(text)
    return directory


def apply_install(kubectl: Kubectl, crds_dir: Path, overlay_dir: Path) -> None:
    """CRDs first and Established, then the overlay; returns once the operator and the agents
    have rolled out (every replica Ready)."""
    kubectl("apply", "-k", str(crds_dir))
    kubectl("wait", "--for=condition=Established", "crd", "--all",
            f"--timeout={CRDS_ESTABLISHED_TIMEOUT}")  # fmt: skip
    # The operator registers its webhook once it serves it; if an earlier install left the
    # registration behind, admission of wasmgate objects fails closed until a replica is Ready,
    # so the apply is repeated until it goes through.
    wait_for(
        lambda: kubectl("apply", "-k", str(overlay_dir)) or True,
        what="the kit overlay of deploy/ to apply",
        timeout=ROLLOUT_TIMEOUT,
        interval=3.0,
    )
    for kind, name in (("deployment", OPERATOR), ("daemonset", AGENT)):
        wait_rolled_out(kubectl, kind, name)


def wait_rolled_out(kubectl: Kubectl, kind: str, name: str) -> None:
    """`kubectl rollout status` of a workload in the system namespace; on a timeout the error
    shows its pods and their last log lines."""
    try:
        kubectl("rollout", "status", "-n", NAMESPACE, f"{kind}/{name}",
                f"--timeout={int(ROLLOUT_TIMEOUT)}s")  # fmt: skip
    except KitError as e:
        raise KitError(f"{e.message}\n{_diagnosis(kubectl, name)}") from e


def _diagnosis(kubectl: Kubectl, name: str) -> str:
    """The pods of `name` and the last log lines of each, for a rollout that did not finish."""
    selector = f"app.kubernetes.io/name={name}"
    lines = [kubectl("get", "pods", "-n", NAMESPACE, "-l", selector, "-o", "wide")]
    listed = json.loads(kubectl("get", "pods", "-n", NAMESPACE, "-l", selector, "-o", "json"))
    for pod in listed["items"]:
        pod_name = pod["metadata"]["name"]
        try:
            logs = kubectl("logs", "-n", NAMESPACE, pod_name, "--all-containers", "--tail=15")
        except KitError as e:
            logs = e.message
        lines.append(f"--- {pod_name}:\n{logs}")
    return "\n".join(lines)


def registries_for_pods(kit: Kit) -> dict[str, str]:
    """{kit registry name: host:port as pods reach it}, at the real node's address."""
    if kit.node is None or kit.node.network is None:
        raise KitError("installing wasmgate as pods needs the real node (`--real-node`)")
    address = kit.node.network.node_address
    return {name: f"{address}:{r.host.rsplit(':', 1)[1]}" for name, r in kit.registries.items()}


def kit_kubectl(kit: Kit) -> Kubectl:
    """kubectl against the kit as its admin; raises KitError with kubectl's message."""

    def kubectl(*args: str) -> str:
        argv = [str(kit.binary("kubectl")), f"--kubeconfig={kit.kubeconfig}", *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT)
        if result.returncode != 0:
            raise KitError(f"`kubectl {' '.join(args)}` failed: {result.stderr.strip()}")
        return result.stdout

    return kubectl


def install_wasmgate(kit: Kit) -> KitInstall:
    """Build (or find) and push the images, write the overlay, apply it: wasmgate runs as pods
    on the kit's real node."""
    images = kit_images(kit)
    install = KitInstall(
        wasmgate_image=images[WASMGATE],
        scheduler_image=images[UPSTREAM_SCHEDULER],
        plain_http=tuple(registries_for_pods(kit).values()),
    )
    deploy = repo_root() / "deploy"
    overlay_dir = write_overlay(kit.state_dir / "install", install, deploy)
    apply_install(kit_kubectl(kit), deploy / "crds", overlay_dir)
    return install
