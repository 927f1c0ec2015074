"""`wasmgate-kit up|status|env|down` drive a whole kit from the shell and clean up after it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from wasmgate_kit.kit import read_state
from wasmgate_kit.supervisor import pid_alive


def _kit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wasmgate_kit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_dev_up_twice_then_down_leaves_no_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "kit"
    started = time.monotonic()
    up = _kit("up", "--state-dir", state_dir)
    elapsed = time.monotonic() - started
    assert up.returncode == 0, up.stderr
    print(f"wasmgate-kit up (binaries cached) took {elapsed:.1f}s")
    assert f"export KUBECONFIG={state_dir / 'admin.kubeconfig'}" in up.stdout
    assert "WASMGATE_REGISTRY_OCI_AUTH_PASSWORD=" in up.stdout

    state = read_state(state_dir)
    assert state is not None
    assert {"wasmgate-operator", "wasmgate-agent-kit-node-0"} <= set(state["processes"])
    pids = [state["pid"], *state["processes"].values()]
    assert len(pids) >= 10 and all(pid_alive(pid) for pid in pids)

    again = _kit("up", "--state-dir", state_dir)
    assert again.returncode == 0
    assert "already up" in again.stdout
    assert read_state(state_dir) == state, "a second `up` must not start a second kit"

    env = _kit("env", "--state-dir", state_dir)
    assert env.stdout.splitlines()[0] == f"export KUBECONFIG={state_dir / 'admin.kubeconfig'}"
    status = _kit("status", "--state-dir", state_dir)
    assert status.returncode == 0 and '"kube-apiserver"' in status.stdout

    down = _kit("down", "--state-dir", state_dir)
    assert down.returncode == 0 and "kit stopped" in down.stdout
    alive = [pid for pid in pids if pid_alive(pid)]
    assert alive == [], f"processes left behind: {alive}"
    assert read_state(state_dir) is None

    after = _kit("status", "--state-dir", state_dir)
    assert after.returncode == 1 and "not running" in after.stdout
    assert "was not running" in _kit("down", "--state-dir", state_dir).stdout
