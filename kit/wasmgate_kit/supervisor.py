"""Keep a kit running in the background for `wasmgate-kit up`, and stop it for `wasmgate-kit down`.

`wasmgate-kit up` starts this supervisor as a detached process; it owns every kit process (they
die with it), records itself in `supervisor.pid` at once and in `kit.json` when ready, and tears
the kit down on SIGTERM or SIGINT. Component deaths are logged, not hidden.

wasmgate runs on the kit one of two ways: as local processes (`start_wasmgate`, the default), or,
with `install`, as pods on the real node, installed the documented way (`install_wasmgate`,
kubectl apply -k of an overlay of deploy/). Then `kit.json` also says, under "install", which
images the pods run and at which host:port they reach each registry, which is what `make demo`
pushes to. Stopping the real node stops its pods, so `wasmgate-kit down` leaves nothing either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from wasmgate_kit.errors import KitError
from wasmgate_kit.install import KitInstall, install_wasmgate, registries_for_pods
from wasmgate_kit.kit import STATE_FILE, Kit, read_state
from wasmgate_kit.system import start_wasmgate
from wasmgate_kit.wait import wait_for

PID_FILE = "supervisor.pid"
UP_TIMEOUT = 180.0
INSTALL_UP_TIMEOUT = 900.0
"""Seconds `wasmgate-kit up --install` may take: a cold build of the image takes minutes."""
DOWN_TIMEOUT = 30.0
HEALTH_INTERVAL = 2.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); read its state to be sure it is not one.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def running_supervisor(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


@dataclass
class SupervisedKit(Kit):
    """A kit whose state also records how wasmgate was installed on it, if as pods."""

    installed: KitInstall | None = None

    def state(self) -> dict[str, Any]:
        state = super().state()
        if self.installed is not None:
            state["install"] = {
                "wasmgateImage": self.installed.wasmgate_image,
                "schedulerImage": self.installed.scheduler_image,
                "podRegistries": registries_for_pods(self),
            }
        return state


def supervise(
    state_dir: Path,
    nodes: int,
    sigstore: bool = False,
    real_node: bool = False,
    install: bool = False,
) -> int:
    """Run the kit in this process until signalled. Returns an exit code.

    `install` implies `real_node`: wasmgate runs as pods there instead of local processes."""
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    kit = SupervisedKit(
        state_dir=state_dir, nodes=nodes, sigstore=sigstore, real_node=real_node or install
    )
    try:
        kit.start(write_state=False)
        if install:
            kit.installed = install_wasmgate(kit)
        else:
            kit.extra_processes.extend(start_wasmgate(kit))
        kit.write_state()
        (state_dir / PID_FILE).write_text(str(os.getpid()))
        print(f"kit ready in {kit.started_in:.1f}s", flush=True)
        reported: set[str] = set()
        while True:
            time.sleep(HEALTH_INTERVAL)
            for process in kit.processes():
                if not process.running() and process.name not in reported:
                    reported.add(process.name)
                    print(f"kit: {process.name} died:\n{process.log_tail()}", flush=True)
    except _Stop:
        return 0
    except KitError as e:
        print(f"kit: {e.message}", file=sys.stderr, flush=True)
        return 1
    finally:
        kit.stop()
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        (state_dir / PID_FILE).unlink(missing_ok=True)


def start_detached(
    state_dir: Path,
    nodes: int,
    sigstore: bool = False,
    real_node: bool = False,
    install: bool = False,
) -> dict[str, Any]:
    """Start a supervisor in the background and wait until its kit is ready (with `install`,
    until wasmgate's pods are Ready too)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir.parent / "supervisor.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wasmgate_kit",
                "supervise",
                "--state-dir",
                str(state_dir),
                "--nodes",
                str(nodes),
                *(["--sigstore"] if sigstore else []),
                *(["--real-node"] if real_node else []),
                *(["--install"] if install else []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive() -> None:
        # Checked as `alive`, not in the probe: wait_for would take a probe's error for an
        # observation and wait out the whole timeout.
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise KitError(f"the kit supervisor exited with {process.returncode}:\n{tail}")

    def ready() -> dict[str, Any] | None:
        state = read_state(state_dir)
        return state if state and state.get("pid") == process.pid else None

    timeout = INSTALL_UP_TIMEOUT if install else UP_TIMEOUT
    return wait_for(ready, what="the kit to come up", timeout=timeout, alive=alive)


def stop_detached(state_dir: Path) -> bool:
    """Stop a running supervisor; True if one was running. Waits until its processes are gone."""
    pid = running_supervisor(state_dir)
    state = read_state(state_dir) or {}
    if pid is None:
        return False
    children = [p for p in dict(state.get("processes", {})).values() if isinstance(p, int)]
    os.kill(pid, signal.SIGTERM)
    wait_for(
        lambda: not any(pid_alive(p) for p in [pid, *children]),
        what="the kit's processes to exit",
        timeout=DOWN_TIMEOUT,
    )
    return True
