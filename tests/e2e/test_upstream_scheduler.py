"""Upstream's scheduler, as the kit builds it, starts against the apiserver and binds pods by name.

With no wasm plugin configured it must behave as a plain kube-scheduler for its own
`schedulerName`, and leave pods of other schedulers alone.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from kubernetes import client

from support.kit import KitHandle
from wasmgate_kit.components import UPSTREAM_SCHEDULER_BINARY
from wasmgate_kit.net import LOOPBACK, free_port
from wasmgate_kit.nodes import DEFAULT_NODE_COUNT, kit_node_name
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

SCHEDULER_NAME = "upstream-wasm-scheduler"


def _pod(name: str, scheduler_name: str) -> client.V1Pod:
    return client.V1Pod.model_validate(
        {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "schedulerName": scheduler_name,
                "containers": [{"name": "app", "image": "example.invalid/app:v1"}],
            },
        }
    )


def test_upstream_scheduler_without_plugins_binds_its_pods(kit: KitHandle, tmp_path: Path) -> None:
    assert kit.kit.control_plane is not None
    kubeconfig = kit.kit.control_plane.scheduler_kubeconfig
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": SCHEDULER_NAME}],
    }
    config_path = tmp_path / "scheduler.yaml"
    config_path.write_text(yaml.safe_dump(config))
    scheduler = ManagedProcess(
        UPSTREAM_SCHEDULER_BINARY,
        [
            kit.bin(UPSTREAM_SCHEDULER_BINARY),
            f"--config={config_path}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={free_port()}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
        ],
        tmp_path / "upstream-scheduler.log",
    )
    scheduler.start()
    try:
        with kit.api_client() as api:
            core = client.CoreV1Api(api)
            core.create_namespaced_pod("default", _pod("wasm-sched-smoke", SCHEDULER_NAME))
            core.create_namespaced_pod("default", _pod("someone-elses", "nobody-scheduler"))
            node = wait_for(
                lambda: core.read_namespaced_pod("wasm-sched-smoke", "default").spec.node_name,
                what="upstream's scheduler to bind wasm-sched-smoke",
                timeout=60,
                alive=scheduler.check_alive,
            )
            assert node in {kit_node_name(i) for i in range(DEFAULT_NODE_COUNT)}
            other = core.read_namespaced_pod("someone-elses", "default")
            assert other.spec.node_name is None, "a pod of another scheduler was bound"
            events = client.EventsV1Api(api).list_namespaced_event(
                "default", field_selector="regarding.name=wasm-sched-smoke"
            )
            scheduled = [e for e in events.items if e.reason == "Scheduled"]
            assert [e.reporting_controller for e in scheduled] == [SCHEDULER_NAME]
    finally:
        scheduler.stop()
