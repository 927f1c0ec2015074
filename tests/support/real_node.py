"""What tests need to run pods on the kit's real node, and to prove it left nothing behind.

`hardened_pod()` is the manifest deploy/ asks of every wasmgate container (non-root, read-only
root file system, no capabilities), pinned to the real node; `container_process()` finds the
process it really became, so a test asserts on the kernel's view rather than on pod status
alone. `leftovers()` lists what of one real node is still on the host (network namespace, veth,
owner record, cgroups, mounts, processes), so a test can demand none after `down`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmgate_kit import cgroups, netns
from wasmgate_kit.real_node import NODE_LABEL, NODE_NAME, TAINT
from wasmgate_kit.wait import wait_for

NON_ROOT_UID = 65532
POD_RUNNING_TIMEOUT = 120.0


def hardened_pod(name: str, image: str) -> dict[str, Any]:
    """A pod for the real node whose container runs as deploy/ demands; the image is local."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "nodeSelector": {NODE_LABEL: "true"},
            "tolerations": [{"key": TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
            "terminationGracePeriodSeconds": 5,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": NON_ROOT_UID,
                "runAsGroup": NON_ROOT_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "securityContext": {
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "resources": {"limits": {"cpu": "100m", "memory": "32Mi"}},
                }
            ],
        },
    }


def wait_running(kubectl: Any, name: str) -> dict[str, Any]:
    """Wait until pod `name` is Running and Ready on the real node; return it."""

    def running() -> dict[str, Any]:
        pod: dict[str, Any] = json.loads(kubectl("get", "pod", name, "-o", "json").stdout)
        status = pod.get("status", {})
        ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
        if status.get("phase") == "Running" and ready and ready[0]["status"] == "True":
            return pod
        # Not there yet: what was seen becomes the timeout message.
        seen = {k: status.get(k) for k in ("phase", "conditions", "containerStatuses")}
        raise AssertionError(json.dumps(seen))

    pod = wait_for(running, what=f"pod {name} Running on {NODE_NAME}", timeout=POD_RUNNING_TIMEOUT)
    assert isinstance(pod, dict)
    return pod


@dataclass(frozen=True)
class ContainerProcess:
    pid: int
    status: dict[str, str]
    """/proc/<pid>/status as a mapping (Uid, Gid, CapEff, NoNewPrivs, ...)."""
    root_mount_options: set[str]


def container_process(socket: Path, pod: dict[str, Any]) -> ContainerProcess:
    """The host process of the pod's first container, read from /proc."""
    container_id = pod["status"]["containerStatuses"][0]["containerID"].removeprefix(
        "containerd://"
    )
    listing = subprocess.run(
        ["ctr", f"--address={socket}", "--namespace=k8s.io", "tasks", "ls"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    pids = [int(line.split()[1]) for line in listing.splitlines() if line.startswith(container_id)]
    assert pids, f"containerd runs no task {container_id}:\n{listing}"
    pid = pids[0]
    status = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    root = [
        line.split()
        for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
        if line.split()[4] == "/"
    ]
    assert root, f"process {pid} has no / mount"
    return ContainerProcess(pid, status, set(root[-1][5].split(",")))


def leftovers(network: netns.KitNetwork, state_dir: Path) -> dict[str, list[str]]:
    """What of real node `network` (state in `state_dir`) is still on the host, by kind."""
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    found = {
        "network namespace": [network.name] if network.path.exists() else [],
        "host veth": [network.host_veth] if network.host_veth in netns.host_links() else [],
        "owner record": [str(network.owner_file)] if network.owner_file.exists() else [],
        "cgroups": [str(h / network.name) for h in cgroups.hierarchies()
                    if (h / network.name).exists()],
        "mounts": [line for line in mountinfo if str(state_dir) in line],
        "processes": _processes_mentioning(str(state_dir))
        + _processes_mentioning(str(network.socket_dir)),
        "socket dir": [str(network.socket_dir)] if network.socket_dir.exists() else [],
    }  # fmt: skip
    return {kind: items for kind, items in found.items() if items}


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found
