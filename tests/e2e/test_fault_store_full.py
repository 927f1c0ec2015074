"""A node store whose filesystem is full refuses the blob cleanly (issue 15, fault suite).

The agent's `--capacity` cap is checked before a pull (test_agent_staging.py); a volume smaller
than the cap (a small disk, or other files on it) only shows when a write fails. The store here
is a 2 MiB tmpfs under a real `wasmgate agent` for a kwok node, with the cap left at its
default. A plugin that fits is staged first; a plugin larger than the free space must end in a
Failed entry with reason StoreFull and a message naming the store and the fix, leave no hidden
or partial file, keep the agent running, and leave the staged plugin in place.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fault_clock import within_bound
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

pytestmark = pytest.mark.e2e

NODE = kit_node_name(1)
LABEL = "wasmgate.dev/store-full-e2e"
STORE_BYTES = 2 * 1024 * 1024
FITS = 300_000
TOO_BIG = 3 * 1024 * 1024
CASE_BOUND_SECONDS = 120.0


@pytest.fixture
def small_store(tmp_path: Path) -> Iterator[Path]:
    """A store directory on a tmpfs of STORE_BYTES, unmounted afterwards."""
    store = tmp_path / "store"
    store.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={STORE_BYTES},mode=0700", "wasmgate-e2e", store],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    try:
        yield store
    finally:
        subprocess.run(["umount", "--lazy", store], check=True, capture_output=True, timeout=30)


def test_a_full_store_filesystem_is_reported_as_store_full_and_keeps_what_was_staged(
    kit: KitHandle, small_store: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    apply_crds(kit.kubectl)
    kit.kubectl("label", "node", NODE, f"{LABEL}=yes", "--overwrite")
    registry = kit.registries["oci"].host
    scheduler = f"store-full-{uuid.uuid4().hex[:8]}"
    fits, too_big = f"{scheduler}-fits", f"{scheduler}-too-big"
    small = push_module(registry, f"store-full/{fits}", module_bytes(fits, FITS), tmp_path)
    large = push_module(registry, f"store-full/{too_big}", module_bytes(too_big, TOO_BIG), tmp_path)
    api = kit.api_client()
    agent = AgentProcess(NODE, small_store, kit.kubeconfig, registry, tmp_path)
    try:
        create_scheduler(api, scheduler, {LABEL: "yes"})
        stage_plugin(api, fits, small, scheduler)
        agent.start()
        wait_entry_state(api, NODE, small.layer_digest, "Ready")

        stage_plugin(api, too_big, large, scheduler)
        failed = wait_entry_state(api, NODE, large.layer_digest, "Failed")
        assert failed["reason"] == "StoreFull", (failed, agent.log_tail())
        assert f"store {small_store}: its filesystem ran out of space" in failed["lastError"]
        assert "give the store a larger volume" in failed["lastError"]

        assert agent.process is not None and agent.process.poll() is None, agent.log_tail()
        names = sorted(p.name for p in (small_store / "sha256").iterdir())
        assert names == [blob_path(small_store, small.layer_digest).name], names
        assert final_files_match_names(small_store) == []
        kept = wait_entry_state(api, NODE, small.layer_digest, "Ready")
        assert kept["size"] == FITS
    finally:
        agent.stop()
        for name in (too_big, fits):
            delete_if_present(api, "wasmplugins", name)
        delete_if_present(api, "wasmschedulers", scheduler)
        kit.kubectl("label", "node", NODE, f"{LABEL}-")
        api.close()
    within_bound("store-full", started, CASE_BOUND_SECONDS)
