"""`make demo` end to end: its recipe on a kit of its own, twice, then `wasmgate-kit down`.

README.md and docs/quickstart.md show `make demo`; the docs test cannot run it next to the
session kit, so this test does. It runs the recipe's last step, `python -m wasmgate_kit.demo`
(the steps before it, `bootstrap` and `kit`, are what every kit test already needs), with the
kit's state under a temporary XDG_STATE_HOME (`wasmgate_kit.paths.default_state_dir`), so it
never touches a developer's own `wasmgate-kit up` kit. The second run must reuse that kit and
end the same way (the issue: "running it twice works"). wasmgate runs as pods on the kit's real
node (`dev up --install`): the single agent pod stages the plugin, `kubectl get pods -A` lists
the operator, the agent and the scheduler there, and no Python process plays kubelet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEMO_TIMEOUT = 900.0
DOWN_TIMEOUT = 120.0
# The sample rule (guestConfig pod-digit) admits only the node ending with the pod's last digit.
EXPECTED_NODE = "kit-node-1"
_PLACED = re.compile(
    r"^plugin node-digit \((sha256:[0-9a-f]{12})\) placed pod demo-pod-1 on node (\S+)$"
)
# `kubectl get wasmplugins -o wide`: NAME PHASE VERIFIED STAGED DIGEST (12 hex) AGE IMAGE; one
# agent pod, on the real node (kwok nodes run no pods).
_READY_ROW = re.compile(r"^node-digit\s+Ready\s+True\s+1/1\s+[0-9a-f]{12}\s")
# `kubectl get pods -A -o wide`: NAMESPACE NAME READY STATUS RESTARTS AGE IP NODE
_POD_ROW = re.compile(r"^wasmgate-system\s+(wasmgate-[a-z]+)-\S+\s+1/1\s+Running\s.*kit-real-node")


def _run(argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def _demo(env: dict[str, str]) -> tuple[str, float]:
    started = time.monotonic()
    result = _run([sys.executable, "-m", "wasmgate_kit.demo"], env, DEMO_TIMEOUT)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"the demo exited {result.returncode}:\n{result.stdout}"
    return result.stdout, elapsed


def _check_ending(output: str) -> None:
    """The demo ends with the Ready plugin, the node the pod landed on, and its duration."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1].startswith("demo took "), output
    placed = _PLACED.match(lines[-2])
    assert placed is not None, f"no placement line before the end:\n{output}"
    assert placed.group(2) == EXPECTED_NODE, output
    done = max(i for i, line in enumerate(lines) if line == "==> done")
    assert any(_READY_ROW.match(line) for line in lines[done:-2]), (
        f"`kubectl get wasmplugins` after '==> done' shows no Ready node-digit:\n{output}"
    )
    running = {m.group(1) for m in map(_POD_ROW.match, lines) if m is not None}
    assert running == {"wasmgate-operator", "wasmgate-agent", "wasmgate-scheduler"}, output


def test_make_demo_twice_ends_with_the_ready_plugin_and_pod_node() -> None:
    # A short state path: the real node's containerd puts its sockets under it, and a unix
    # socket path may not exceed 104 bytes (pytest's tmp_path is too deep for that).
    with tempfile.TemporaryDirectory(prefix="wgdemo-") as state:
        _demo_twice_then_down(Path(state))


def _demo_twice_then_down(state: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    env.pop("KUBECONFIG", None)
    try:
        first, cold = _demo(env)
        _check_ending(first)
        second, warm = _demo(env)
        _check_ending(second)
        print(f"make demo: first run {cold:.0f}s (kit started), second run {warm:.0f}s (reused)")
        assert warm < cold, "the second run must reuse the running kit"
        ps = _run(["ps", "-eo", "args"], env, 30).stdout
        assert "wasmgate_kit.kubelet" not in ps, "no Python process plays kubelet"
    finally:
        down = _run([sys.executable, "-m", "wasmgate_kit", "down"], env, DOWN_TIMEOUT)
    assert down.returncode == 0 and "kit stopped" in down.stdout, down.stdout
