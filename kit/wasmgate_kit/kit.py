"""The whole local kit: control plane, simulated nodes and registries, as one object.

`Kit.start()` brings everything up and writes `kit.json` (ports, paths,
credentials) into the state directory; tests, `wasmgate-kit env` and the demo read it.
`Kit.stop()` stops every process it started, in reverse order. Pods that must really run
(scheduler pods, wasmgate installed from deploy/) run on the real node (`real_node=True`, or
added later: kubelet, containerd, pods of images built here); kwok nodes run none.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config

from wasmgate_kit import build
from wasmgate_kit.controlplane import ControlPlane
from wasmgate_kit.errors import KitError
from wasmgate_kit.nodes import DEFAULT_NODE_COUNT, build_node, kit_node_name, node_is_ready
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.real_node import RealNode, start_real_node
from wasmgate_kit.registries import Registry, start_registries
from wasmgate_kit.sigstore_stack import SigstoreStack, start_sigstore
from wasmgate_kit.wait import wait_for

STATE_FILE = "kit.json"
NODE_READY_TIMEOUT = 60.0


@dataclass
class Kit:
    state_dir: Path
    nodes: int = DEFAULT_NODE_COUNT
    binary: Callable[[str], Path] = build.binary_path
    control_plane: ControlPlane | None = None
    registries: dict[str, Registry] = field(default_factory=dict)
    extra_processes: list[ManagedProcess] = field(default_factory=list)
    started_in: float = 0.0
    sigstore: bool = False
    """Also start the private sigstore instance (keyless signing); off unless asked for."""
    sigstore_stack: SigstoreStack | None = None
    real_node: bool = False
    """Also start a real node (kubelet, containerd; kit/real_node.py); off unless asked for."""
    node: RealNode | None = None
    images: dict[str, str] = field(default_factory=dict)
    """Kit images pushed to a kit registry, by name (kit/real_schedulers.py fills it)."""

    def start(self, write_state: bool = True) -> None:
        started = time.monotonic()
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True)
        try:
            self.control_plane = ControlPlane(self.state_dir, self.binary)
            self.control_plane.start()
            self.registries, processes = start_registries(self.state_dir, self.binary)
            self.extra_processes.extend(processes)
            if self.sigstore:
                self.sigstore_stack, processes = start_sigstore(self.state_dir, self.binary)
                self.extra_processes.extend(processes)
            for index in range(self.nodes):
                self.add_node(kit_node_name(index))
            self._wait_for_default_service_account()
            if self.real_node:
                self.node = start_real_node(self)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        if write_state:
            self.write_state()

    @property
    def kubeconfig(self) -> Path:
        if self.control_plane is None:
            raise KitError("the kit is not started")
        return self.control_plane.admin_kubeconfig

    def api_client(self) -> client.ApiClient:
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig)
        )
        return api

    def add_node(self, name: str, labels: dict[str, str] | None = None) -> None:
        """Create a kwok node and wait until it is Ready."""
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            core.create_node(client.V1Node.model_validate(build_node(name, labels)))
            wait_for(
                lambda: node_is_ready(core.read_node(name)),
                what=f"node {name} Ready",
                timeout=NODE_READY_TIMEOUT,
                alive=self.check_alive,
            )

    def _wait_for_default_service_account(self) -> None:
        """Pods are refused until the controller-manager has made `default/default`."""
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            wait_for(
                lambda: core.read_namespaced_service_account("default", "default"),
                what="the controller-manager to create serviceaccount default/default",
                timeout=NODE_READY_TIMEOUT,
                alive=self.check_alive,
            )

    def processes(self) -> list[ManagedProcess]:
        own = self.control_plane.processes if self.control_plane else []
        node = self.node.processes if self.node else []
        return [*own, *self.extra_processes, *node]

    def check_alive(self) -> None:
        for process in self.processes():
            process.check_alive()

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        for process in reversed(self.extra_processes):
            process.stop()
        if self.control_plane:
            self.control_plane.stop()

    def state(self) -> dict[str, Any]:
        assert self.control_plane is not None
        return {
            "pid": os.getpid(),
            "stateDir": str(self.state_dir),
            "kubeconfig": str(self.kubeconfig),
            "server": self.control_plane.server,
            "schedulerKubeconfig": str(self.control_plane.scheduler_kubeconfig),
            "registries": {name: r.to_dict() for name, r in self.registries.items()},
            "processes": {p.name: p.pid for p in self.processes()},
            "sigstore": self.sigstore_stack.to_dict() if self.sigstore_stack else None,
            "realNode": self.node.to_dict() if self.node else None,
            "startedInSeconds": round(self.started_in, 2),
        }

    def write_state(self) -> None:
        path = self.state_dir / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state(), indent=2))
        temporary.rename(path)


def read_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data
