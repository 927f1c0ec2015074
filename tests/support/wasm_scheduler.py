"""The kit's wasm scheduler as a process loading given guests, for tests that compare verdicts.

The scheduler reads its KubeSchedulerConfiguration from a file: each plugin under
`multiPoint.enabled` with a `pluginConfig` whose `guestURL` names a local module. It talks to
the kit's apiserver with the kit's scheduler identity and serves /healthz on a free port.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from support.kit import KitHandle
from wasmgate.kit.net import LOOPBACK, free_port, http_status
from wasmgate.kit.wait import wait_for

LOAD_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class LoadOutcome:
    """What the scheduler did with its guests: became healthy, or exited with a code."""

    healthy: bool
    exit_code: int | None
    log: str


def scheduler_config(
    kubeconfig: Path, scheduler_name: str, guests: dict[str, Path], guest_config: str = ""
) -> dict[str, object]:
    """A configuration with one profile whose wasm plugins load `guests` ({name: module})."""
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "profiles": [
            {
                "schedulerName": scheduler_name,
                "plugins": {"multiPoint": {"enabled": [{"name": name} for name in guests]}},
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


def load_guests(
    kit: KitHandle, work: Path, scheduler_name: str, guests: dict[str, Path]
) -> LoadOutcome:
    """Start the scheduler with `guests`, wait until it is healthy or has exited, stop it."""
    assert kit.kit.control_plane is not None
    kubeconfig = kit.kit.control_plane.scheduler_kubeconfig
    config_path = work / f"{scheduler_name}.yaml"
    config_path.write_text(yaml.safe_dump(scheduler_config(kubeconfig, scheduler_name, guests)))
    log_path = work / f"{scheduler_name}.log"
    port = free_port()
    argv = [
        str(kit.bin("wasm-scheduler")),
        f"--config={config_path}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
    ]
    with log_path.open("wb") as log:
        scheduler = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def settled() -> LoadOutcome | None:
        code = scheduler.poll()
        if code is not None:
            return LoadOutcome(False, code, log_path.read_text(errors="replace"))
        try:
            healthy = http_status(f"https://{LOOPBACK}:{port}/healthz", verify=False) == 200
        except OSError:
            return None
        return LoadOutcome(True, None, log_path.read_text(errors="replace")) if healthy else None

    try:
        return wait_for(
            settled,
            what=f"{scheduler_name}: /healthz or an exit (log {log_path})",
            timeout=LOAD_TIMEOUT,
        )
    finally:
        if scheduler.poll() is None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait(timeout=STOP_TIMEOUT)
