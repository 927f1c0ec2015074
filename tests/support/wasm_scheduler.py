"""Upstream's scheduler as a process loading given guests, for tests that compare verdicts.

The scheduler (kube-scheduler-wasm-extension, built by the kit from the pinned upstream source)
reads its KubeSchedulerConfiguration from a file: each plugin under `multiPoint.enabled` with a
`pluginConfig` whose `guestURL` names a local module. It talks to the kit's apiserver with the
kit's scheduler identity and serves /healthz on a free port. `run_scheduler` starts it, waits
until it is healthy or has exited, and optionally schedules one pod through it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from kubernetes import client

from support.kit import KitHandle
from wasmgate_kit.components import UPSTREAM_SCHEDULER_BINARY
from wasmgate_kit.net import LOOPBACK, free_port, http_status
from wasmgate_kit.wait import wait_for

LOAD_TIMEOUT = 60.0
SCHEDULE_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
POD_NAMESPACE = "default"


@dataclass(frozen=True)
class LoadOutcome:
    """What the scheduler did with its guests: became healthy, or exited with a code."""

    healthy: bool
    exit_code: int | None
    log: str


@dataclass(frozen=True)
class ScheduleOutcome:
    """What became of one pod: bound to a node, refused (FailedScheduling), or the scheduler
    exited while handling it."""

    node: str | None
    failed_scheduling: str | None
    exit_code: int | None
    log: str


def scheduler_config(
    kubeconfig: Path,
    scheduler_name: str,
    guests: dict[str, Path],
    guest_config: str = "",
    own_binder: bool = False,
) -> dict[str, object]:
    """A configuration with one profile whose wasm plugins load `guests` ({name: module}).

    `own_binder` disables DefaultBinder, as a profile whose wasm plugin binds pods must: the
    framework stops at the first bind plugin that does not skip, and DefaultBinder comes first.
    """
    plugins: dict[str, object] = {"multiPoint": {"enabled": [{"name": name} for name in guests]}}
    if own_binder:
        plugins["bind"] = {"disabled": [{"name": "DefaultBinder"}]}
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "profiles": [
            {
                "schedulerName": scheduler_name,
                "plugins": plugins,
                "pluginConfig": [
                    {
                        "name": name,
                        "args": {"guestURL": f"file://{path}", "guestConfig": guest_config},
                    }
                    for name, path in guests.items()
                ],
            }
        ],
    }


@dataclass
class RunningScheduler:
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def settled(self) -> LoadOutcome | None:
        code = self.process.poll()
        if code is not None:
            return LoadOutcome(False, code, self.log())
        try:
            healthy = http_status(f"https://{LOOPBACK}:{self.port}/healthz", verify=False) == 200
        except OSError:
            return None
        return LoadOutcome(True, None, self.log()) if healthy else None


@contextmanager
def run_scheduler(
    kit: KitHandle,
    work: Path,
    scheduler_name: str,
    guests: dict[str, Path],
    own_binder: bool = False,
) -> Iterator[RunningScheduler]:
    """Upstream's scheduler loading `guests`, stopped on exit from the block."""
    assert kit.kit.control_plane is not None
    kubeconfig = kit.kit.control_plane.scheduler_kubeconfig
    config_path = work / f"{scheduler_name}.yaml"
    config = scheduler_config(kubeconfig, scheduler_name, guests, own_binder=own_binder)
    config_path.write_text(yaml.safe_dump(config))
    log_path = work / f"{scheduler_name}.log"
    port = free_port()
    argv = [
        str(kit.bin(UPSTREAM_SCHEDULER_BINARY)),
        f"--config={config_path}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield RunningScheduler(process, log_path, port)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)


def load_guests(
    kit: KitHandle, work: Path, scheduler_name: str, guests: dict[str, Path]
) -> LoadOutcome:
    """Start the scheduler with `guests`, wait until it is healthy or has exited, stop it."""
    with run_scheduler(kit, work, scheduler_name, guests) as scheduler:
        return wait_for(
            scheduler.settled,
            what=f"{scheduler_name}: /healthz or an exit (log {scheduler.log_path})",
            timeout=LOAD_TIMEOUT,
        )


def schedule_pod(
    scheduler: RunningScheduler, api: client.ApiClient, pod_name: str, scheduler_name: str
) -> ScheduleOutcome:
    """Create a pod for `scheduler_name`; wait until it is bound, refused or the scheduler exits."""
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(
        POD_NAMESPACE,
        client.V1Pod.model_validate(
            {
                "metadata": {"name": pod_name},
                "spec": {
                    "schedulerName": scheduler_name,
                    "containers": [{"name": "app", "image": "example.invalid/app:v1"}],
                },
            }
        ),
    )
    events = client.EventsV1Api(api)

    def observed() -> ScheduleOutcome | None:
        node = core.read_namespaced_pod(pod_name, POD_NAMESPACE).spec.node_name
        if node:
            return ScheduleOutcome(node, None, None, scheduler.log())
        code = scheduler.process.poll()
        if code is not None:
            return ScheduleOutcome(None, None, code, scheduler.log())
        refused = [
            e.note or ""
            for e in events.list_namespaced_event(
                POD_NAMESPACE, field_selector=f"regarding.name={pod_name}"
            ).items
            if e.reason == "FailedScheduling"
        ]
        return ScheduleOutcome(None, refused[0], None, scheduler.log()) if refused else None

    return wait_for(
        observed,
        what=f"{pod_name}: bound, FailedScheduling or a scheduler exit (log {scheduler.log_path})",
        timeout=SCHEDULE_TIMEOUT,
    )
