"""A registry outage never takes the scheduler down (issue 15, fault suite).

A signed plugin is live on a WasmScheduler. The registry then goes away, and a routine change
re-runs the pipeline: an annotation on the key Secret or on the pull Secret, an edit of the
WasmTrustPolicy, or the periodic resync that resolves a moving tag again (pullPolicy Always; the
operator runs with a short --resync-seconds). The pipeline reports the registry as unreachable
(Resolved or Verified Unknown, RegistryUnavailable). Whatever it refuses, the agents must keep
the blob the live revision runs well past twice their garbage-collection grace, and report why
when the load gate refuses the plugin (heldFor, on the nodes and in the plugin's status). A
scheduler pod (a real pod on the kit's real node) deleted meanwhile comes back with the same
configuration, re-verifies the store and schedules. When the registry returns, every condition
passes again and nothing is held.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from support.fault_clock import within_bound
from support.kit import KitHandle
from support.operator import apply, key_secret, pull_secret
from support.pod_placement import digit_rule_broken
from support.registries import of_kit
from support.rollout_system import Body, System, condition, delete_all
from support.signing import make_key
from wasmgate.api.base import GROUP, VERSION
from wasmgate.rollout.names import LABEL_SCHEDULER
from wasmgate_kit.real_node import NODE_NAME, RealNode
from wasmgate_kit.system import SYSTEM_NAMESPACE, start_wasmgate
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

KEY_SECRET = "outage-e2e-key"
PULL_SECRET = "outage-e2e-pull"
POLICY = "outage-e2e-policy"
TRIGGERS = ("key-secret", "pull-secret", "trust-policy", "moving-tag")
GC_GRACE_SECONDS = 3
RESYNC_SECONDS = 1
# The operator's periodic pass, which resolves a pullPolicy Always tag again.
OPERATOR_RESYNC_SECONDS = 3
CASE_BOUND_SECONDS = 300.0
# Twice the grace, plus resyncs, is when an agent without the pin would have collected the blob.
HOLD_WINDOW_SECONDS = 2 * GC_GRACE_SECONDS + 4 * RESYNC_SECONDS
STEP_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def system(
    kit_session: KitHandle,
    real_node: RealNode,
    wasm_assets: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    kit = kit_session
    work = tmp_path_factory.mktemp("outage-e2e")
    flags = [f"--gc-grace={GC_GRACE_SECONDS}", f"--resync={RESYNC_SECONDS}"]
    processes = start_wasmgate(
        kit.kit, agent_flags=flags, operator_flags=[f"--resync-seconds={OPERATOR_RESYNC_SECONDS}"]
    )
    key = make_key(kit.bin("cosign"), "p256", work / "key")
    key_secret(kit, SYSTEM_NAMESPACE, KEY_SECRET, key.public)
    registry = of_kit(kit.kit)["distribution"]
    pull_secret(kit, SYSTEM_NAMESPACE, PULL_SECRET, registry.host, "nobody", "unused")
    apply(kit, _policy(max_size=16 * 1024 * 1024))
    with kit.api_client() as api:
        created = System(kit, api, work, registry, key, wasm_assets, processes)
        created.key_secret = KEY_SECRET
        try:
            yield created
        finally:
            if registry.process is not None and not registry.process.running():
                registry.start()
            try:
                delete_all(kit, [*created.created, ("wasmtrustpolicy", POLICY)])
            finally:
                for process in reversed(created.processes):
                    process.stop()


def _policy(max_size: int) -> Body:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WasmTrustPolicy",
        "metadata": {"name": POLICY},
        "spec": {"mode": "Enforce", "signatureRequired": True, "maxSize": max_size},
    }


def _trigger(system: System, trigger: str) -> None:
    """The routine change that makes the operator go back to the registry (a moving tag needs
    none: the operator's resync resolves it again)."""
    touched = {"metadata": {"annotations": {"wasmgate.dev/outage-e2e": str(time.time())}}}
    core = client.CoreV1Api(system.api)
    if trigger == "key-secret":
        core.patch_namespaced_secret(KEY_SECRET, SYSTEM_NAMESPACE, touched)
    elif trigger == "pull-secret":
        core.patch_namespaced_secret(PULL_SECRET, SYSTEM_NAMESPACE, touched)
    elif trigger == "trust-policy":
        apply(system.kit, _policy(max_size=32 * 1024 * 1024))


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
    """Whether the blob is in the store of each node the scheduler pods run on."""
    hex_ = layer.split(":", 1)[1]
    return {NODE_NAME: (system.store / "sha256" / hex_).is_file()}


def _scheduler_pods(system: System, scheduler: str) -> list[str]:
    pods = client.CoreV1Api(system.api).list_namespaced_pod(
        SYSTEM_NAMESPACE, label_selector=f"{LABEL_SCHEDULER}={scheduler}"
    )
    return [p.metadata.name for p in pods.items if not p.metadata.deletion_timestamp]


def _assert_held(system: System, plugin: str, scheduler: str, layer: str) -> None:
    """The load gate refuses the plugin: every node holds its blob for the live revision, and
    the plugin's status says so."""

    def held_everywhere() -> dict[str, dict[str, Any]] | None:
        entries = _node_entries(system, layer)
        held = {node: e for node, e in entries.items() if e.get("heldFor")}
        return held if set(held) == {NODE_NAME} else None

    held = system.wait("heldFor on every node", held_everywhere, plugin, scheduler)
    assert {e["state"] for e in held.values()} == {"Ready"}
    assert {e["heldFor"] for e in held.values()} == {f"WasmScheduler {scheduler}, active revision"}

    def plugin_says_held() -> list[str] | None:
        staging = system.get("wasmplugins", plugin)["status"].get("staging") or {}
        return staging.get("heldFor") or None

    reasons = system.wait("staging.heldFor", plugin_says_held, plugin, scheduler)
    assert reasons == [f"WasmScheduler {scheduler}, active revision"]


def _with_pull_secret(system: System, plugin: str, scheduler: str, image: str) -> int:
    """The plugin again, now naming a pull Secret (the registry needs none; editing it is
    the trigger), rolled out."""
    document = system.get("wasmplugins", plugin)
    spec = document["spec"]
    spec["source"]["pullSecretRef"] = {"namespace": SYSTEM_NAMESPACE, "name": PULL_SECRET}
    apply(system.kit, {"apiVersion": document["apiVersion"], "kind": "WasmPlugin",
                       "metadata": {"name": plugin}, "spec": spec})  # fmt: skip
    generation = int(system.get("wasmplugins", plugin)["metadata"]["generation"])
    system.wait_rolled_out(plugin, generation, scheduler)
    return generation


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_registry_outage_never_takes_the_scheduler_down(system: System, trigger: str) -> None:
    started = time.monotonic()
    scheduler, plugin = f"outage-{trigger}", f"outage-{trigger}-filter"
    system.scheduler(scheduler)
    image = system.publish(plugin, "v1", system.asset("filter_node_name_suffix"))
    moving = trigger == "moving-tag"
    generation = system.plugin(plugin, scheduler, image, pull_policy="Always" if moving else None)
    if trigger == "pull-secret":
        generation = _with_pull_secret(system, plugin, scheduler, image)
    live = system.wait_rolled_out(plugin, generation, scheduler)["status"]
    config_map = system.only_revision_running(scheduler)
    layer = system.get("wasmplugins", plugin)["status"]["layerDigest"]
    assert [p["layerDigest"] for p in live["plugins"]] == [layer]
    assert all(_stored(system, layer).values())

    # 1. The registry goes away; a routine change sends the operator back to it.
    system.registry.stop()
    _trigger(system, trigger)

    def registry_unreachable() -> Body | None:
        body = system.get("wasmplugins", plugin)
        for type_ in ("Resolved", "Verified"):
            found = condition(body, type_)
            if found is not None and found["status"] == "Unknown":
                return found
        return None

    seen = system.wait("the outage in status", registry_unreachable, plugin, scheduler)
    assert seen["reason"] == "RegistryUnavailable", seen
    if moving:
        assert seen["type"] == "Resolved", seen  # the resync's resolve, before any verify
    if seen["type"] == "Verified":
        _assert_held(system, plugin, scheduler, layer)

    # 2. Past twice the grace period the blob is still on every node, unchanged config.
    window_ends = time.monotonic() + HOLD_WINDOW_SECONDS
    while time.monotonic() < window_ends:
        assert all(_stored(system, layer).values()), _stored(system, layer)
        time.sleep(0.5)
    rolled = system.get("wasmschedulers", scheduler)["status"]
    assert (rolled["configMapName"], rolled["activeRevision"]) == (
        config_map,
        live["activeRevision"],
    )

    # 3. A scheduler pod deleted now comes back with the same config and schedules.
    core = client.CoreV1Api(system.api)
    (old_pod,) = _scheduler_pods(system, scheduler)
    core.delete_namespaced_pod(old_pod, SYSTEM_NAMESPACE, grace_period_seconds=0)
    wait_for(
        lambda: [p for p in _scheduler_pods(system, scheduler) if p != old_pod] or None,
        what="a new scheduler pod",
        timeout=STEP_TIMEOUT,
    )
    assert system.only_revision_running(scheduler) == config_map
    assert digit_rule_broken(system.place_pods("outage", scheduler, count=3)) == {}

    # 4. The registry returns: the plugin passes again and nothing is held any more.
    system.registry.start()

    def verified_again() -> Body | None:
        body = system.get("wasmplugins", plugin)
        passing = [condition(body, t) for t in ("Resolved", "Verified", "Validated")]
        staging = body["status"].get("staging") or {}
        done = all(c is not None and c["status"] == "True" for c in passing)
        return body if done and not staging.get("heldFor") else None

    body = system.wait("Verified again, hold lifted", verified_again, plugin, scheduler)
    assert body["status"]["staging"].get("heldFor", []) == []
    # The agents lift theirs once they see the plugin verified (their next reconcile): the
    # plugin's own pass may say so first, now that it writes staging in the same write.
    wait_for(
        lambda: None if any(e.get("heldFor") for e in _node_entries(system, layer).values()) else 1,
        what="every node's hold lifted",
        timeout=STEP_TIMEOUT,
    )
    within_bound(f"registry-outage[{trigger}]", started, CASE_BOUND_SECONDS)
