"""The kit with wasmgate running on it, as the rollout and fault end-to-end tests drive it.

`System` publishes signed plugins (`wasmgate push`, cosign), applies WasmSchedulers and
WasmPlugins, waits for rollouts, places pods through upstream's scheduler running as pods on the
kit's real node, and reads what the operator wrote. It can hold the node's kubelet (SIGSTOP) so
a test acts between the moment a rollout starts and the moment its pods start. The test modules
own the fixtures that start the processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.kit import KitHandle
from support.operator import apply, key_secret
from support.pod_placement import digit_names, place_pods
from support.registries import LocalRegistry
from support.signing import BUNDLE, SigningKey, cosign_sign, make_key
from wasmgate.api.base import GROUP, VERSION
from wasmgate.rollout.names import LABEL_CONFIG_HASH, LABEL_SCHEDULER
from wasmgate_kit.install import AGENT
from wasmgate_kit.nodes import DEFAULT_NODE_COUNT
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.real_node import NODE_NAME, RealNode
from wasmgate_kit.real_schedulers import real_node_store, scheduler_spec
from wasmgate_kit.system import OPERATOR_PROCESS, SYSTEM_NAMESPACE, start_wasmgate
from wasmgate_kit.wait import wait_for

KEY_SECRET = "rollout-e2e-key"
ROLLOUT_TIMEOUT = 180.0
POD_COUNT = 10
Body = dict[str, Any]


@dataclass
class System:
    """The kit with wasmgate running on it, and what the tests created."""

    kit: KitHandle
    api: client.ApiClient
    work: Path
    registry: LocalRegistry
    key: SigningKey
    assets: dict[str, Path]
    processes: list[ManagedProcess]
    created: list[tuple[str, str]] = field(default_factory=list)
    key_secret: str = KEY_SECRET
    """Secret (in the system namespace) with the public key every plugin is verified with."""

    @property
    def node(self) -> RealNode:
        node = self.kit.kit.node
        assert node is not None, "scheduler pods run on the kit's real node"
        return node

    def hold_pods(self) -> None:
        """Freeze the real node's kubelet: pods created now wait until `release_pods`."""
        self._signal_kubelet(signal.SIGSTOP)

    def release_pods(self) -> None:
        self._signal_kubelet(signal.SIGCONT)

    def _signal_kubelet(self, signum: signal.Signals) -> None:
        kubelet = self.node.kubelet
        if kubelet is not None and kubelet.pid is not None:
            os.kill(kubelet.pid, signum)

    @property
    def store(self) -> Path:
        """The real node's store, where the scheduler pods load plugins from."""
        return real_node_store(self.kit.kit)

    @property
    def operator(self) -> ManagedProcess:
        return next(p for p in self.processes if p.name == OPERATOR_PROCESS)

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def kill_operator(self) -> None:
        """SIGKILL the operator (no handler finishes, nothing is cleaned up) and start a successor
        with the same command line, as its Deployment would."""
        killed = self.operator
        assert killed.pid is not None
        os.kill(killed.pid, signal.SIGKILL)
        wait_for(lambda: not killed.running(), what="the killed operator gone", timeout=10)
        successor = ManagedProcess(OPERATOR_PROCESS, killed.argv, killed.log_path)
        self.processes[self.processes.index(killed)] = successor
        successor.start()

    def signal_registry(self, signum: signal.Signals) -> None:
        """SIGSTOP freezes the registry: the kernel still accepts connections and nobody answers
        them, so a resolve or a pull hangs where it is until SIGCONT."""
        process = self.registry.process
        assert process is not None and process.pid is not None, "a registry of the kit's own"
        os.kill(process.pid, signum)

    def operator_reaches_registry(self) -> bool:
        """Whether the operator holds a connection to the registry (a resolve in flight)."""
        port = int(self.registry.host.rsplit(":", 1)[1])
        pid = self.operator.pid
        return pid is not None and port in tcp_peer_ports(pid)

    def agent_pod_restarts(self) -> int:
        """Restarts of the real node's agent container (a SIGKILLed agent is restarted)."""
        pods = client.CoreV1Api(self.api).list_namespaced_pod(
            SYSTEM_NAMESPACE, field_selector=f"spec.nodeName={NODE_NAME}"
        )
        return sum(
            status.restart_count
            for pod in pods.items
            if pod.metadata.name.startswith(f"{AGENT}-")
            for status in pod.status.container_statuses or []
        )

    def signal_agents(self, signum: signal.Signals) -> None:
        """SIGSTOP freezes every node agent (a stuck agent repairs nothing); SIGCONT resumes.
        The real node's agent is a pod there (kit/node_agent.py), the others local processes."""
        pids = [p.pid for p in self.processes if p.name.startswith("wasmgate-agent-")]
        pids += self.node.pod_processes("agent")
        for pid in pids:
            if pid is not None:
                os.kill(pid, signum)

    def publish(self, name: str, tag: str, data: bytes) -> str:
        """Push `data` with `wasmgate push`, sign it with cosign (bundle); the tag reference."""
        module = self.work / f"{name}-{tag}.wasm"
        module.write_bytes(data)
        image = f"{self.registry.host}/rollout-e2e/{name}:{tag}"
        pushed = subprocess.run(
            [sys.executable, "-m", "wasmgate", "push", "--plain-http", str(module), image],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr
        digest = pushed.stdout.strip()
        cosign = self.kit.bin("cosign")
        by_digest = f"{image.rsplit(':', 1)[0]}@{digest}"
        cosign_sign(cosign, self.registry, by_digest, self.key, BUNDLE, self.work)
        return image

    def asset(self, name: str) -> bytes:
        return self.assets[name].read_bytes()

    def apply(self, document: Body) -> None:
        apply(self.kit, document)

    def scheduler(self, name: str) -> None:
        """A WasmScheduler whose pods run upstream's scheduler image on the real node."""
        self.apply({
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmScheduler",
            "metadata": {"name": name},
            "spec": {**scheduler_spec(self.kit.kit), "rollout": {"progressDeadlineSeconds": 90}},
        })  # fmt: skip
        if ("wasmschedulers", name) not in self.created:
            self.created.append(("wasmschedulers", name))

    def plugin(
        self,
        name: str,
        scheduler: str,
        image: str,
        *,
        pull_policy: str | None = None,
        **settings: str | int,
    ) -> int:
        """Apply (create or update) a WasmPlugin; its generation afterwards. `settings` go to
        spec.scheduler, `pull_policy` to spec.source.pullPolicy."""
        policy = {} if pull_policy is None else {"pullPolicy": pull_policy}
        self.apply({
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmPlugin",
            "metadata": {"name": name},
            "spec": {
                "source": {"image": image, **policy},
                "verify": {"keys": [{"secretRef": {"namespace": SYSTEM_NAMESPACE,
                                                   "name": self.key_secret}}]},
                "scheduler": {"schedulers": [scheduler], **settings},
            },
        })  # fmt: skip
        if ("wasmplugins", name) not in self.created:
            self.created.insert(0, ("wasmplugins", name))
        return int(self.get("wasmplugins", name)["metadata"]["generation"])

    def get(self, plural: str, name: str) -> Body:
        custom = client.CustomObjectsApi(self.api)
        body: Body = custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        return body

    def explain(self, plugin: str, scheduler: str) -> str:
        """What the objects and the operator looked like, for a failed wait."""
        parts = []
        for plural, name in (("wasmplugins", plugin), ("wasmschedulers", scheduler)):
            try:
                parts.append(json.dumps(self.get(plural, name).get("status"), indent=1))
            except ApiException as e:
                parts.append(f"{plural}/{name}: {e.status}")
        return "\n".join([*parts, "operator log:", self.operator.log_tail(30)])

    def wait(self, what: str, probe: Callable[[], Any], plugin: str, scheduler: str) -> Any:
        try:
            return wait_for(probe, what=what, timeout=ROLLOUT_TIMEOUT, alive=self.check_alive)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.explain(plugin, scheduler)}") from e

    def wait_rolled_out(self, plugin: str, generation: int, scheduler: str) -> Body:
        """Wait until `plugin` at `generation` is Ready (RolledOut True); the scheduler then."""

        def probe() -> Body | None:
            rolled = condition(self.get("wasmplugins", plugin), "RolledOut")
            done = rolled is not None and rolled["status"] == "True"
            return rolled if done and rolled["observedGeneration"] >= generation else None

        self.wait(f"{plugin} generation {generation} rolled out", probe, plugin, scheduler)
        return self.get("wasmschedulers", scheduler)

    def only_revision_running(self, scheduler: str) -> str:
        """Wait until every scheduler pod still alive (terminating ones too) runs the active
        ConfigMap and one is Ready, so the previous revision cannot bind the pods a test
        creates next; returns that ConfigMap's name."""
        config_map = str(self.get("wasmschedulers", scheduler)["status"]["configMapName"])
        hash_ = config_map.rsplit("-", 1)[-1]
        core = client.CoreV1Api(self.api)

        def probe() -> dict[str, str] | None:
            listed = core.list_namespaced_pod(
                SYSTEM_NAMESPACE, label_selector=f"{LABEL_SCHEDULER}={scheduler}"
            )
            alive = [p for p in listed.items if p.status.phase in ("Pending", "Running")]
            hashes = {p.metadata.name: p.metadata.labels.get(LABEL_CONFIG_HASH, "") for p in alive}
            ready = any(
                c.type == "Ready" and c.status == "True"
                for p in alive
                for c in p.status.conditions or []
            )
            return hashes if ready and set(hashes.values()) == {hash_} else None

        wait_for(probe, what=f"only scheduler pods of {config_map}", timeout=ROLLOUT_TIMEOUT)
        return config_map

    def place_pods(self, prefix: str, scheduler: str, count: int = POD_COUNT) -> dict[str, str]:
        """Create pods for a wasm scheduler; pod name -> node once all are bound."""
        # Every pod name ends with the digit of a kit node, so each rule has a node to pick.
        return place_pods(self.api, scheduler, digit_names(prefix, count, DEFAULT_NODE_COUNT))

    def event_reasons(self, plugin: str) -> set[str]:
        def probe() -> set[str] | None:
            events = client.CoreV1Api(self.api).list_event_for_all_namespaces(
                field_selector=f"involvedObject.name={plugin}"
            )
            reasons = {str(event.reason) for event in events.items}
            return reasons if "RolledOut" in reasons else None

        found: set[str] = wait_for(probe, what=f"Events of {plugin}", timeout=30.0)
        return found

    def config_map_exists(self, name: str) -> bool:
        try:
            client.CoreV1Api(self.api).read_namespaced_config_map(name, SYSTEM_NAMESPACE)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True


@contextlib.contextmanager
def running_system(
    kit: KitHandle,
    work: Path,
    registry: LocalRegistry,
    assets: dict[str, Path],
    operator_flags: Sequence[str] = (),
    agent_flags: Sequence[str] = (),
) -> Iterator[System]:
    """Start wasmgate on the kit (the operator with `operator_flags` added, every agent with
    `agent_flags`) with a signing key in KEY_SECRET; afterwards thaw whatever a test froze,
    delete what it created (plugins first: the webhook refuses to delete a scheduler a plugin
    names) and stop the processes."""
    processes = start_wasmgate(kit.kit, agent_flags=agent_flags, operator_flags=operator_flags)
    key = make_key(kit.bin("cosign"), "p256", work / "key")
    key_secret(kit, SYSTEM_NAMESPACE, KEY_SECRET, key.public)
    with kit.api_client() as api:
        created = System(kit, api, work, registry, key, assets, processes)
        try:
            yield created
        finally:
            created.release_pods()
            created.signal_agents(signal.SIGCONT)
            if registry.process is not None and registry.process.running():
                created.signal_registry(signal.SIGCONT)
            try:
                delete_all(kit, created.created)
            finally:
                for process in reversed(created.processes):
                    process.stop()


DELETE_TIMEOUT = "180s"


def delete_all(kit: KitHandle, objects: Sequence[tuple[str, str]]) -> None:
    """Delete cluster-scoped `objects` (plural, name) in order, each waited for (the operator's
    finalizer runs); one that does not go in time loses its finalizers so that no later module
    meets it, and the cleanup then fails naming it."""
    stuck = []
    for plural, name in objects:
        deleted = kit.kubectl("delete", plural, name, "--ignore-not-found",
                              f"--timeout={DELETE_TIMEOUT}", check=False)  # fmt: skip
        if deleted.returncode != 0:
            stuck.append(f"{plural}/{name}: {deleted.stderr.strip()}")
            kit.kubectl("patch", plural, name, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)  # fmt: skip
    assert not stuck, "objects not deleted in time (finalizers removed): " + "; ".join(stuck)


def tcp_peer_ports(pid: int) -> set[int]:
    """Remote ports of the TCP connections process `pid` holds (listening sockets aside)."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            target = str(fd.readlink())
            if target.startswith("socket:["):
                sockets.add(target.removeprefix("socket:[").removesuffix("]"))
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            # sl local_address rem_address st ... inode (proc(5)); st 0A is LISTEN.
            fields = line.split()
            if fields[9] in sockets and fields[3] != "0A":
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def condition(body: Body, type_: str) -> Body | None:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), None)


def revisions(scheduler: Body) -> list[tuple[int, str]]:
    return [(r["revision"], r["outcome"]) for r in scheduler["status"]["revisions"]]
