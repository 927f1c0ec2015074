"""A registry outage never takes the scheduler down (issue 15, fault suite).

A signed plugin is live on a WasmScheduler. The registry then goes away, and a routine change
re-runs verification (an annotation on the key Secret): Verified becomes Unknown, so the load
gate refuses the plugin. The agents must keep the blob the live revision runs well past twice
their garbage-collection grace, report why (heldFor), and the plugin's status must say it is held.
A scheduler pod deleted meanwhile comes back with the same configuration, re-verifies the store
and schedules. When the registry returns, the plugin passes again and the hold is lifted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from support.kit import KitHandle
from support.operator import key_secret
from support.registries import of_kit
from support.rollout_system import Body, System, condition, digit_rule_broken
from support.signing import make_key
from wasmgate.api.base import GROUP, VERSION
from wasmgate.kit.nodes import DEFAULT_NODE_COUNT, kit_node_name
from wasmgate.kit.system import SYSTEM_NAMESPACE, start_wasmgate, store_dir
from wasmgate.kit.wait import wait_for
from wasmgate.rollout.names import LABEL_SCHEDULER

pytestmark = pytest.mark.e2e

KEY_SECRET = "outage-e2e-key"
SCHEDULER = "outage-e2e"
PLUGIN = "outage-filter"
GC_GRACE_SECONDS = 3
RESYNC_SECONDS = 1
# Twice the grace, plus resyncs, is when an agent without the pin would have collected the blob.
HOLD_WINDOW_SECONDS = 2 * GC_GRACE_SECONDS + 4 * RESYNC_SECONDS
STEP_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def system(
    kit_session: KitHandle, wasm_assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    kit = kit_session
    work = tmp_path_factory.mktemp("outage-e2e")
    flags = [f"--gc-grace={GC_GRACE_SECONDS}", f"--resync={RESYNC_SECONDS}"]
    processes = start_wasmgate(kit.kit, agent_flags=flags)
    key = make_key(kit.bin("cosign"), "p256", work / "key")
    key_secret(kit, SYSTEM_NAMESPACE, KEY_SECRET, key.public)
    registry = of_kit(kit.kit)["distribution"]
    with kit.api_client() as api:
        created = System(kit, api, work, registry, key, wasm_assets, processes)
        created.key_secret = KEY_SECRET
        try:
            yield created
        finally:
            if registry.process is not None and not registry.process.running():
                registry.start()
            try:
                for plural, name in created.created:
                    kit.kubectl("delete", plural, name, "--ignore-not-found", "--timeout=60s")
            finally:
                for process in reversed(created.processes):
                    process.stop()


def _node_entries(system: System, layer: str) -> dict[str, dict[str, Any]]:
    caches = client.CustomObjectsApi(system.api).list_cluster_custom_object(
        GROUP, VERSION, "wasmnodecaches"
    )
    found = {}
    for cache in caches["items"]:
        for entry in (cache.get("status") or {}).get("entries") or []:
            if entry["digest"] == layer:
                found[cache["metadata"]["name"]] = entry
    return found


def _stored(system: System, layer: str) -> dict[str, bool]:
    hex_ = layer.split(":", 1)[1]
    nodes = [kit_node_name(i) for i in range(DEFAULT_NODE_COUNT)]
    return {node: (store_dir(system.kit.kit, node) / "sha256" / hex_).is_file() for node in nodes}


def _scheduler_pods(system: System) -> list[str]:
    pods = client.CoreV1Api(system.api).list_namespaced_pod(
        SYSTEM_NAMESPACE, label_selector=f"{LABEL_SCHEDULER}={SCHEDULER}"
    )
    return [p.metadata.name for p in pods.items if not p.metadata.deletion_timestamp]


def test_a_registry_outage_never_takes_the_scheduler_down(system: System) -> None:
    started = time.monotonic()
    system.scheduler(SCHEDULER)
    image = system.publish(PLUGIN, "v1", system.asset("filter_node_name_suffix"))
    generation = system.plugin(PLUGIN, SCHEDULER, image)
    live = system.wait_rolled_out(PLUGIN, generation, SCHEDULER)["status"]
    config_map = system.only_revision_running(SCHEDULER)
    layer = system.get("wasmplugins", PLUGIN)["status"]["layerDigest"]
    assert [p["layerDigest"] for p in live["plugins"]] == [layer]
    assert all(_stored(system, layer).values())

    # 1. The registry goes away; a routine edit of the key Secret re-runs verification.
    system.registry.stop()
    client.CoreV1Api(system.api).patch_namespaced_secret(
        KEY_SECRET, SYSTEM_NAMESPACE, {"metadata": {"annotations": {"touched": "outage-e2e"}}}
    )

    def verification_unreachable() -> Body | None:
        verified = condition(system.get("wasmplugins", PLUGIN), "Verified")
        return verified if verified is not None and verified["status"] == "Unknown" else None

    verified = system.wait("Verified Unknown", verification_unreachable, PLUGIN, SCHEDULER)
    assert verified["reason"] == "RegistryUnavailable", verified

    # 2. Every node reports the blob held for the live revision, and the plugin says so.
    def held_everywhere() -> dict[str, dict[str, Any]] | None:
        entries = _node_entries(system, layer)
        held = {node: e for node, e in entries.items() if e.get("heldFor")}
        return held if len(held) == DEFAULT_NODE_COUNT else None

    held = system.wait("heldFor on every node", held_everywhere, PLUGIN, SCHEDULER)
    assert {e["state"] for e in held.values()} == {"Ready"}
    assert {e["heldFor"] for e in held.values()} == {f"WasmScheduler {SCHEDULER}, active revision"}

    def plugin_says_held() -> list[str] | None:
        staging = system.get("wasmplugins", PLUGIN)["status"].get("staging") or {}
        return staging.get("heldFor") or None

    reasons = system.wait("staging.heldFor", plugin_says_held, PLUGIN, SCHEDULER)
    assert reasons == [f"WasmScheduler {SCHEDULER}, active revision"]

    # 3. Past twice the grace period the blob is still on every node, unchanged config.
    window_ends = time.monotonic() + HOLD_WINDOW_SECONDS
    while time.monotonic() < window_ends:
        assert all(_stored(system, layer).values()), _stored(system, layer)
        time.sleep(0.5)
    scheduler = system.get("wasmschedulers", SCHEDULER)["status"]
    assert (scheduler["configMapName"], scheduler["activeRevision"]) == (
        config_map,
        live["activeRevision"],
    )

    # 4. A scheduler pod deleted now comes back with the same config and schedules.
    core = client.CoreV1Api(system.api)
    (old_pod,) = _scheduler_pods(system)
    core.delete_namespaced_pod(old_pod, SYSTEM_NAMESPACE, grace_period_seconds=0)
    wait_for(
        lambda: [p for p in _scheduler_pods(system) if p != old_pod] or None,
        what="a new scheduler pod",
        timeout=STEP_TIMEOUT,
    )
    assert system.only_revision_running(SCHEDULER) == config_map
    assert digit_rule_broken(system.place_pods("outage", SCHEDULER, count=3)) == {}

    # 5. The registry returns: the plugin passes again and nothing is held any more.
    system.registry.start()

    def verified_again() -> Body | None:
        body = system.get("wasmplugins", PLUGIN)
        passed = condition(body, "Verified")
        staging = body["status"].get("staging") or {}
        done = passed is not None and passed["status"] == "True" and not staging.get("heldFor")
        return body if done else None

    body = system.wait("Verified again, hold lifted", verified_again, PLUGIN, SCHEDULER)
    assert body["status"]["staging"]["heldFor"] == []
    assert not any(e.get("heldFor") for e in _node_entries(system, layer).values())
    assert time.monotonic() - started < 600, "the fault case must stay bounded"
