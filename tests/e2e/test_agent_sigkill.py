"""An agent SIGKILLed anywhere in a pull never leaves a wrong file under a final name.

A large blob makes each pull long enough to be interrupted during download, fsync, re-hash or
rename. The first pull measures how long a pull takes; then each trial starts the agent, waits
for the pull to begin (a hidden staging file appears), kills it after a random part of that
duration, and checks every file under a final name. A trial whose pull had already finished
is not counted; its blob is removed so the next trial pulls again, and later kills aim earlier.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from support.kit import KitHandle
from support.staging_kit import (
    AgentProcess,
    apply_crds,
    blob_path,
    create_scheduler,
    delete_if_present,
    final_files_match_names,
    module_bytes,
    push_module,
    stage_plugin,
    wait_entry_state,
)
from wasmgate_kit.nodes import kit_node_name
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

BLOB_SIZE = 64 * 1024 * 1024
TRIALS_KILLED_MID_PULL = 20
MAX_TRIALS = 60
NODE = kit_node_name(0)
LABEL = "wasmgate.dev/sigkill-e2e"


def _pull_started(store: Path, agent: AgentProcess) -> bool:
    """Whether this agent process created its staging file (names carry the writer's pid)."""
    directory = store / "sha256"
    marker = f"-{agent.pid}"
    return directory.is_dir() and any(
        p.name.startswith(".") and marker in p.name for p in directory.iterdir()
    )


def _phase(store: Path, agent: AgentProcess) -> str:
    """Where the killed pull was: downloading (fetch's .part file) or past it (re-hash, rename)."""
    names = [p.name for p in (store / "sha256").iterdir() if f"-{agent.pid}" in p.name]
    if any(name.endswith(".part") for name in names):
        return "download"
    return "verify-or-rename" if names else "before-first-byte"


def test_sigkill_at_random_points_of_a_pull_never_publishes_a_bad_file(
    kit: KitHandle, tmp_path: Path
) -> None:
    apply_crds(kit.kubectl)
    kit.kubectl("label", "node", NODE, f"{LABEL}=yes", "--overwrite")
    api = kit.api_client()
    registry = kit.registries["oci"].host
    scheduler = f"sigkill-{uuid.uuid4().hex[:8]}"
    plugin = f"{scheduler}-big"
    store = tmp_path / "store"
    pushed = push_module(registry, "sigkill/big", module_bytes("big", BLOB_SIZE), tmp_path)
    create_scheduler(api, scheduler, {LABEL: "yes"})
    stage_plugin(api, plugin, pushed, scheduler)
    final = blob_path(store, pushed.layer_digest)
    rng = random.Random(20261124)
    agent: AgentProcess | None = None
    try:
        # Calibration: one whole pull, timed from the first staging file to the final name.
        agent = AgentProcess(NODE, store, kit.kubeconfig, registry, tmp_path).start()
        wait_for(
            lambda: _pull_started(store, agent),
            what="the pull to start",
            timeout=60,
            interval=0.002,
        )
        started = time.monotonic()
        wait_for(final.is_file, what="the calibration pull", timeout=120, interval=0.002)
        duration = time.monotonic() - started
        agent.kill()
        assert final_files_match_names(store) == []
        final.unlink()

        killed_mid_pull = 0
        phases: Counter[str] = Counter()
        trials = 0
        while killed_mid_pull < TRIALS_KILLED_MID_PULL and trials < MAX_TRIALS:
            trials += 1
            agent = AgentProcess(NODE, store, kit.kubeconfig, registry, tmp_path).start()
            wait_for(
                lambda current=agent: _pull_started(store, current) or final.is_file(),
                what=f"trial {trials}: the pull to start",
                timeout=60,
                interval=0.002,
            )
            delay = rng.uniform(0, duration * 1.1)
            time.sleep(delay)
            agent.kill()
            bad = final_files_match_names(store)
            assert bad == [], f"trial {trials}: files under final names fail their hash: {bad}"
            if final.is_file():
                final.unlink()  # finished before the kill: pull again next trial
                # Pulls got faster than the calibration (a busy machine): aim earlier.
                duration = min(duration, delay)
            else:
                killed_mid_pull += 1
                phases[_phase(store, agent)] += 1
        print(f"kills by phase of the pull: {dict(phases)}")
        assert killed_mid_pull >= TRIALS_KILLED_MID_PULL, (
            f"only {killed_mid_pull} of {trials} kills landed inside a pull of {duration:.2f}s"
        )

        # After the last kill, a restarted agent cleans up and completes the pull.
        agent = AgentProcess(NODE, store, kit.kubeconfig, registry, tmp_path).start()
        entry = wait_entry_state(api, NODE, pushed.layer_digest, "Ready", timeout=120)
        agent.stop()
        assert entry["size"] == BLOB_SIZE
        assert final_files_match_names(store) == []
        assert sorted(p.name for p in (store / "sha256").iterdir()) == [final.name]
    finally:
        if agent is not None:
            agent.kill()
        delete_if_present(api, "wasmplugins", plugin)
        delete_if_present(api, "wasmschedulers", scheduler)
        api.close()
