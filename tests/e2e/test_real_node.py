"""Pods really run on the kit's real node, as deploy/'s hardening demands, and go away with it.

The kubelet and containerd are real; so is the pod's process, which the tests inspect through
/proc: its user, its capabilities and its read-only root are the kernel's word, not the pod
status's. `wasmgate-kit down` must leave nothing of the node on the host.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.kit import KitHandle
from support.real_node import NON_ROOT_UID, container_process, hardened_pod, leftovers, wait_running
from support.wasmgate_cli import wasmgate_kit
from wasmgate_kit.build import binary_path
from wasmgate_kit.components import KUBERNETES_VERSION
from wasmgate_kit.debian_image import python_base
from wasmgate_kit.image_push import push_archive
from wasmgate_kit.kit import read_state
from wasmgate_kit.netns import NAME_PREFIX, KitNetwork
from wasmgate_kit.real_node import NODE_NAME, TAINT, RealNode
from wasmgate_kit.supervisor import pid_alive
from wasmgate_kit.wait import wait_for

DEV_TIMEOUT = 600


def test_real_node_registers_with_its_namespace_address(
    kit: KitHandle, real_node: RealNode
) -> None:
    node = json.loads(kit.kubectl("get", "node", NODE_NAME, "-o", "json").stdout)
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == KUBERNETES_VERSION
    assert info["containerRuntimeVersion"].startswith("containerd://1.6."), info
    assert real_node.network is not None
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == real_node.network.node_address
    assert not ipaddress.ip_address(addresses["InternalIP"]).is_loopback
    assert {k: node["spec"]["taints"][0][k] for k in TAINT} == TAINT


def test_hardened_pod_runs_on_the_real_node_as_non_root_without_capabilities(
    kit: KitHandle, real_node: RealNode
) -> None:
    name = "hardened"
    kit.run(
        "kubectl",
        "apply",
        "-f",
        "-",
        input_text=json.dumps(hardened_pod(name, real_node.sandbox_image)),
    )
    try:
        pod = wait_running(kit.kubectl, name)
        assert pod["spec"]["nodeName"] == NODE_NAME
        assert real_node.network is not None
        pod_ip = ipaddress.ip_address(pod["status"]["podIP"])
        assert pod_ip in ipaddress.ip_network(real_node.network.pod_cidr)

        process = container_process(real_node.socket, pod)
        uid = str(NON_ROOT_UID)
        assert process.status["Uid"].split() == [uid] * 4
        assert process.status["Gid"].split() == [uid] * 4
        assert process.status["CapEff"].strip() == "0000000000000000"
        assert process.status["CapBnd"].strip() == "0000000000000000"
        assert process.status["NoNewPrivs"].strip() == "1"
        assert "ro" in process.root_mount_options, process.root_mount_options
        # The apiserver reaches the kubelet in the node's namespace (logs, exec) with its own
        # client certificate; the kubelet admits it through the apiserver's review.
        logs = kit.kubectl("logs", name, check=False)
        assert logs.returncode == 0, logs.stderr
    finally:
        kit.kubectl("delete", "pod", name, "--wait=true", "--timeout=60s")


# Shows what the kernel allows the container: its Python, its user, whether / is writable, and
# what it can connect to. 192.0.2.1 (TEST-NET-1) stands for "outside": with no route to it, the
# connect fails before any packet is sent.
PROBE = """
import os, socket, sys, time

def attempt(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "connected"
    except OSError as e:
        return e.strerror

try:
    open("/probe", "w")
    print("root file system: writable", flush=True)
except OSError as e:
    print("root file system:", e.strerror, flush=True)
print("outside:", attempt("192.0.2.1", 80), flush=True)
print("apiserver:", attempt("127.0.0.1", int(os.environ.get("APISERVER_PORT", "0"))), flush=True)
service = os.environ["KUBERNETES_SERVICE_HOST"], int(os.environ["KUBERNETES_SERVICE_PORT"])
print("kubernetes service:", attempt(*service), flush=True)
print("python", sys.version.split()[0], "uid", os.getuid(), flush=True)
time.sleep(3600)
"""
OUTSIDE_UNREACHABLE = "outside: Network is unreachable"


def _probe_pod(name: str, image: str, apiserver_port: int, host_network: bool) -> dict[str, Any]:
    pod = hardened_pod(name, image)
    pod["spec"]["hostNetwork"] = host_network
    pod["spec"]["containers"][0] |= {
        "command": ["python3", "-c", PROBE],
        "env": [{"name": "APISERVER_PORT", "value": str(apiserver_port)}],
    }
    return pod


def _probe_output(kit: KitHandle, name: str) -> str:
    wait_running(kit.kubectl, name)
    logs: str = wait_for(
        lambda: "uid" in (out := kit.kubectl("logs", name).stdout) and out,
        what=f"pod {name} to print its probe",
        timeout=30,
    )
    return logs


@pytest.mark.parametrize("host_network", [False, True], ids=["pod-network", "host-network"])
def test_debian_python_image_built_here_runs_on_the_real_node_and_reaches_nothing_outside(
    kit: KitHandle, real_node: RealNode, host_network: bool
) -> None:
    """On the pod network a pod reaches neither the outside nor the host's loopback; with
    hostNetwork it shares the node's namespace, whose loopback shows the apiserver (forwarder),
    and still reaches nothing outside. Both find the apiserver where in-cluster clients look:
    the `kubernetes` Service's address."""
    reference, archive = python_base().archive()
    real_node.import_image(archive)
    name = "python-host" if host_network else "python-pod"
    port = int(real_node.kit_server.rsplit(":", 1)[1])
    kit.run("kubectl", "apply", "-f", "-",
            input_text=json.dumps(_probe_pod(name, reference, port, host_network)))  # fmt: skip
    try:
        logs = _probe_output(kit, name)
        assert "root file system: Read-only file system" in logs, logs
        assert "python 3.11." in logs and f"uid {NON_ROOT_UID}" in logs, logs
        assert OUTSIDE_UNREACHABLE in logs, logs
        apiserver = "apiserver: connected" if host_network else "apiserver: Connection refused"
        assert apiserver in logs, logs
        assert "kubernetes service: connected" in logs, logs
    finally:
        kit.kubectl("delete", "pod", name, "--wait=true", "--timeout=60s")


def test_real_node_pulls_an_image_built_here_from_the_kit_registry(
    kit: KitHandle, real_node: RealNode
) -> None:
    local, archive = python_base().archive()
    tag = local.rsplit(":", 1)[1]
    reference = push_archive(archive, kit.registries["oci"], "kit/debian-python", tag)
    name = "pulled"
    pod = _probe_pod(name, reference, 0, host_network=False)
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps(pod))
    try:
        running = wait_running(kit.kubectl, name)
        status = running["status"]["containerStatuses"][0]
        assert status["image"] == reference
        events = kit.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}",
                             "-o", "jsonpath={.items[*].reason}").stdout.split()  # fmt: skip
        assert "Pulled" in events, events
        logs = _probe_output(kit, name)
        assert f"uid {NON_ROOT_UID}" in logs, logs
    finally:
        kit.kubectl("delete", "pod", name, "--wait=true", "--timeout=60s")


def _dev_up_real_node(state_dir: Path) -> tuple[dict[str, Any], KitNetwork]:
    """`wasmgate-kit up --real-node` with one kwok node; its kit.json and the node's network."""
    started = time.monotonic()
    up = wasmgate_kit(
        "up", "--real-node", "--nodes", "1", "--state-dir", state_dir, timeout=DEV_TIMEOUT
    )
    print(f"wasmgate-kit up --real-node took {time.monotonic() - started:.1f}s")
    assert up.returncode == 0, up.stderr
    state = read_state(state_dir)
    assert state is not None and state["realNode"] is not None, state
    print(f"real node timings: {state['realNode']['timings']}")
    network = KitNetwork(int(state["realNode"]["network"]["name"].removeprefix(NAME_PREFIX)))
    return state, network


def _kubectl_of(state: dict[str, Any]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """kubectl against the kit `wasmgate-kit up` described in `state`."""
    env = {**os.environ, "KUBECONFIG": state["kubeconfig"]}

    def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary_path("kubectl")), *args],
            input=stdin, capture_output=True, text=True, env=env, check=True, timeout=60,
        )  # fmt: skip

    return kubectl


def test_dev_up_real_node_runs_a_pod_and_down_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "kit"
    state, network = _dev_up_real_node(state_dir)
    pids = [state["pid"], *state["processes"].values()]
    assert {"containerd", "kubelet"} <= set(state["processes"])
    try:
        kubectl = _kubectl_of(state)
        pod = hardened_pod("survives-nothing", state["realNode"]["sandboxImage"])
        kubectl("apply", "-f", "-", stdin=json.dumps(pod))
        wait_running(kubectl, "survives-nothing")
    finally:
        down = wasmgate_kit("down", "--state-dir", state_dir, timeout=DEV_TIMEOUT)
    assert down.returncode == 0 and "kit stopped" in down.stdout, down.stderr
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert leftovers(network, state_dir) == {}


def test_a_real_node_whose_kit_was_killed_is_swept_by_dev_down(tmp_path: Path) -> None:
    """SIGKILL the supervisor: its children die with it (PR_SET_PDEATHSIG), but containerd's
    shims and the pods' processes do not, and the namespace stays. The next real node to start
    removes all of it, and so does `wasmgate-kit down` (`sweep_abandoned`)."""
    state_dir = tmp_path / "kit"
    state, network = _dev_up_real_node(state_dir)
    kubectl = _kubectl_of(state)
    pod = hardened_pod("orphan", state["realNode"]["sandboxImage"])
    kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    wait_running(kubectl, "orphan")
    os.kill(state["pid"], signal.SIGKILL)
    wait_for(lambda: not pid_alive(state["pid"]), what="the supervisor to die", timeout=30)
    survivors = leftovers(network, state_dir)
    assert {"network namespace", "cgroups", "processes"} <= set(survivors), survivors

    down = wasmgate_kit("down", "--state-dir", state_dir, timeout=DEV_TIMEOUT)
    assert down.returncode == 0, down.stderr
    assert f"removed the remains of real node network {network.name}" in down.stdout, down.stdout
    assert leftovers(network, state_dir) == {}
