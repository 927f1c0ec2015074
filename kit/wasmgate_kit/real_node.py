"""A real node for the kit: the pinned kubelet on Debian's containerd and runc, opt-in.

kwok nodes run no containers, so nothing about an image, a securityContext or a probe is ever
tested on them. `wasmgate-kit up --real-node` (and the `real_node` test fixture) add one node,
`kit-real-node`, on which pods really run:

- a network namespace of its own with the node's address (kit/netns.py), a CNI bridge for pods
  inside it (kit/containerd.py), and a user-space forwarder that shows the apiserver and the
  kit's registries inside the namespace, at the host's ports and at the `kubernetes` Service
  address (kit/netns_forward.py): no packet goes anywhere but loopback and the kit's own
  namespaces;
- containerd in a mount namespace of its own, the kubelet joined to it, so every mount either
  makes disappears with them;
- a cgroup tree of its own (kit/cgroups.py) holding every pod process;
- a sandbox image built from the kit's `kit-pause` binary (kit/images.py), imported with `ctr`.

The node is tainted `wasmgate.dev/real-node=true:NoSchedule`, so pods of tests written for kwok
nodes never land on it by chance; a pod meant for it tolerates the taint and selects the node.
`stop()` takes all of it down again, in order, and checks that nothing is left; a kit whose owner
died without stopping is cleaned up by the next real node that starts.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate_kit import cgroups, containerd, netns
from wasmgate_kit.errors import KitError
from wasmgate_kit.images import StaticImage
from wasmgate_kit.kubeconfig import write_kubeconfig
from wasmgate_kit.net import KUBERNETES_SERVICE_ADDRESS, KUBERNETES_SERVICE_PORT, LOOPBACK
from wasmgate_kit.netns_forward import Forward, every_address
from wasmgate_kit.nodes import node_is_ready
from wasmgate_kit.pki import CertificateAuthority
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

if TYPE_CHECKING:
    from wasmgate_kit.kit import Kit

NODE_NAME = "kit-real-node"
NODE_LABEL = "wasmgate.dev/real-node"
TAINT = {"key": NODE_LABEL, "value": "true", "effect": "NoSchedule"}
PAUSE_REPOSITORY = "wasmgate.kit/pause"
NODE_ROLE_BINDING = "wasmgate-kit:nodes"
START_TIMEOUT = 60.0
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
KUBELET_PORT = 10250
# In the node's mount namespace, on its private /run: the kubelet's unix sockets must fit 108
# bytes (a pytest state dir does not), and its volume mounts go away with the namespace.
KUBELET_ROOT = "/run/kubelet"


@dataclass
class RealNode:
    """Handles on one running real node; `start()` and `stop()` bracket its whole life."""

    kit: Kit
    state_dir: Path
    network: netns.KitNetwork | None = None
    containerd: ManagedProcess | None = None
    kubelet: ManagedProcess | None = None
    forwarder: ManagedProcess | None = None
    sandbox_image: str = ""
    started_in: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def socket(self) -> Path:
        if self.network is None:
            raise KitError("the real node has no network yet")
        return self.network.socket_dir / "containerd.sock"

    @property
    def var_lib_wasmgate(self) -> Path:
        """The node's /var/lib/wasmgate, seen from the host: the agent's store is `store/`."""
        return self.state_dir / "var-lib-wasmgate"

    @property
    def processes(self) -> list[ManagedProcess]:
        return [p for p in (self.forwarder, self.containerd, self.kubelet) if p is not None]

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def start(self) -> None:
        started = time.monotonic()
        if os.geteuid() != 0:
            raise KitError("the real node needs root (network namespaces, mounts, cgroups)")
        containerd.check_installed()
        kubelet_binary, pause_binary = self.kit.binary("kubelet"), self.kit.binary("kit-pause")
        sweep_abandoned()
        self.var_lib_wasmgate.mkdir(parents=True, exist_ok=True)
        self.network = netns.claim_network(self._owner())
        try:
            self.network.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            cgroups.create(self.network.name)
            self._start_forwarder()
            self._start_containerd(pause_binary)
            self._start_kubelet(kubelet_binary)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started

    def _owner(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "stateDir": str(self.state_dir),
        }

    def _lap(self, what: str, since: float) -> None:
        self.timings[what] = round(time.monotonic() - since, 2)

    def _start_forwarder(self) -> None:
        assert self.network is not None
        apiserver = int(self.kit_server.rsplit(":", 1)[1])
        ports = [apiserver, *(int(h.rsplit(":", 1)[1]) for h in self.registries)]
        forwards = [every_address(port) for port in ports]
        forwards.append(Forward(KUBERNETES_SERVICE_ADDRESS, KUBERNETES_SERVICE_PORT, apiserver))
        argv = [sys.executable, "-m", "wasmgate_kit.netns_forward", str(self.network.path)]
        argv += [str(forward) for forward in forwards]
        self.forwarder = ManagedProcess(
            "real-node-forwarder", argv, self._log("real-node-forwarder")
        )
        self.forwarder.start()

    @property
    def registries(self) -> tuple[str, ...]:
        """host:port of every kit registry: containerd pulls from them over the forwarder."""
        return tuple(r.host for r in self.kit.registries.values())

    @property
    def kit_server(self) -> str:
        assert self.kit.control_plane is not None
        return self.kit.control_plane.server

    def _log(self, name: str) -> Path:
        return self.kit.state_dir / "logs" / f"{name}.log"

    def _start_containerd(self, pause_binary: Path) -> None:
        assert self.network is not None
        since = time.monotonic()
        directory = self.state_dir / "containerd"
        self.sandbox_image, archive = StaticImage(PAUSE_REPOSITORY, pause_binary).archive()
        cni = containerd.write_cni_config(
            self.state_dir / "cni" / "net.d", self.network, self.state_dir / "cni" / "ipam"
        )
        config = containerd.write_config(
            directory,
            socket=self.socket,
            sandbox_image=self.sandbox_image,
            cni_conf_dir=cni.parent,
            registries=self.registries,
        )
        self.containerd = ManagedProcess(
            "containerd",
            containerd.containerd_argv(config, self.network, self.var_lib_wasmgate),
            self._log("containerd"),
        )
        self.containerd.start()
        process = self.containerd
        wait_for(
            lambda: self.socket.is_socket() and containerd.ctr_version(self.socket),
            what=f"containerd to answer on {self.socket}",
            timeout=START_TIMEOUT,
            alive=process.check_alive,
        )
        self._lap("containerd", since)
        since = time.monotonic()
        containerd.import_image(self.socket, archive)
        self._lap("importPause", since)

    def _start_kubelet(self, kubelet_binary: Path) -> None:
        assert self.network is not None and self.containerd is not None
        assert self.containerd.pid is not None and self.kit.control_plane is not None
        since = time.monotonic()
        directory = self.state_dir / "kubelet"
        pki = directory / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        ca = CertificateAuthority.load(self.kit.control_plane.ca.parent)
        identity = ca.issue("kubelet-client", f"system:node:{NODE_NAME}",
                            organization="system:nodes", client=True)  # fmt: skip
        serving = ca.issue("kubelet-serving", NODE_NAME,
                           hosts=(self.network.node_address, NODE_NAME))  # fmt: skip
        kubeconfig = write_kubeconfig(
            directory / "kubelet.kubeconfig",
            server=self.kit_server, ca=ca.cert_path, cert=identity.cert, key=identity.key,
            user=f"system:node:{NODE_NAME}",
        )  # fmt: skip
        self._bind_node_role()
        config = directory / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                build_kubelet_config(
                    network=self.network,
                    socket=self.socket,
                    ca=ca.cert_path,
                    serving=(serving.cert, serving.key),
                    pod_logs=self.state_dir / "pod-logs",
                )
            )
        )
        argv = [
            str(kubelet_binary),
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={KUBELET_ROOT}",
            f"--cert-dir={pki}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={self.network.node_address}",
            f"--node-labels={NODE_LABEL}=true",
            "--v=1",
        ]
        self.kubelet = ManagedProcess(
            "kubelet", containerd.in_node_argv(self.containerd.pid, argv), self._log("kubelet")
        )
        self.kubelet.start()
        with self.kit.api_client() as api:
            core = client.CoreV1Api(api)
            wait_for(
                lambda: node_is_ready(core.read_node(NODE_NAME)),
                what=f"node {NODE_NAME} Ready",
                timeout=READY_TIMEOUT,
                alive=self.check_alive,
            )
        self._lap("kubeletReady", since)

    def _bind_node_role(self) -> None:
        """RBAC has no binding for group system:nodes (the Node authorizer is not on here)."""
        binding = client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=NODE_ROLE_BINDING),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="system:node"
            ),
            subjects=[
                client.RbacV1Subject(
                    api_group="rbac.authorization.k8s.io", kind="Group", name="system:nodes"
                )
            ],
        )
        with self.kit.api_client() as api:
            try:
                client.RbacAuthorizationV1Api(api).create_cluster_role_binding(binding)
            except ApiException as e:
                if e.status != 409:
                    raise

    def pod_processes(self, *words: str) -> list[int]:
        """PIDs of the node's pod processes whose command line holds every one of `words` (a
        test freezes or kills what a pod runs, as a node problem would)."""
        if self.network is None:
            return []
        wanted = [word.encode() for word in words]
        found = []
        for pid in sorted(cgroups.members(self.network.name)):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # gone meanwhile
            if all(word in argv for word in wanted):
                found.append(pid)
        return found

    def import_image(self, archive: Path) -> None:
        """Make an image archive the kit built (kit/images.py, kit/debian_image.py) available
        to pods (`imagePullPolicy: Never`): the node pulls from nowhere."""
        containerd.import_image(self.socket, archive)

    def stop(self) -> None:
        """Kubelet, pods, containerd and its shims, forwarder, namespace, cgroups: all gone.

        Pod processes are found by cgroup, whatever namespaces they entered; containerd's shims
        (which leave its process group) by the network namespace they inherited. Once the last
        of them is gone, the kernel drops their mount namespace and every mount made in it.
        """
        if self.kubelet is not None:
            self.kubelet.stop()
        if self.network is not None:
            cgroups.kill_all(self.network.name)
        if self.containerd is not None:
            self.containerd.stop()
        if self.forwarder is not None:
            self.forwarder.stop()
        if self.network is not None:
            teardown_network(self.network)
            self.network = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": NODE_NAME,
            "network": self.network.to_dict() if self.network else None,
            "containerdSocket": str(self.socket) if self.network else None,
            "sandboxImage": self.sandbox_image,
            "startedInSeconds": round(self.started_in, 2),
            "timings": self.timings,
        }


def build_kubelet_config(
    *, network: netns.KitNetwork, socket: Path, ca: Path, serving: tuple[Path, Path], pod_logs: Path
) -> dict[str, Any]:
    """The KubeletConfiguration of the real node (kubelet.config.k8s.io/v1beta1)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The API port listens on the node's address inside its namespace only.
        "address": network.node_address,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": LOOPBACK,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(serving[0]),
        "tlsPrivateKeyFile": str(serving[1]),
        "containerRuntimeEndpoint": f"unix://{socket}",
        # cgroupfs: there is no systemd here. Each kit's pods under their own root.
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{network.name}",
        "failSwapOn": False,
        # Pods get no DNS: nothing outside the kit's namespaces is reachable anyway.
        "resolvConf": "",
        "podLogsDir": str(pod_logs),
        "registerWithTaints": [TAINT],
        "maxPods": 30,
        # A test node on a shared disk: never evict or garbage-collect images for space.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "1Mi", "nodefs.available": "0%",
                         "imagefs.available": "0%"},
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }  # fmt: skip


def teardown_network(network: netns.KitNetwork) -> None:
    """Kill what still runs in the namespace, delete it with its veth, remove the cgroups."""
    cgroups.kill_until_gone(lambda: netns.pids_in(network), network.name)
    netns.release_network(network)
    cgroups.kill_all(network.name)
    cgroups.remove(network.name)


def sweep_abandoned() -> list[str]:
    """Remove the namespaces, processes and cgroups of real nodes whose owner died unstopped;
    returns the names of the namespaces removed."""
    from wasmgate_kit.supervisor import pid_alive  # the supervisor imports this module's user

    swept = []
    for network, owner in netns.owned_networks():
        if pid_alive(int(owner.get("pid", 0))):
            continue
        teardown_network(network)
        swept.append(network.name)
    return swept


def start_real_node(kit: Kit) -> RealNode:
    node = RealNode(kit=kit, state_dir=kit.state_dir / "real-node")
    node.start()
    return node
