"""Wrong bytes under a right name are never loaded (issue 15, fault suite).

Two places can hand a scheduler bytes that differ from the digest that was verified:
- The node's store: a plugin is live on a scheduler whose pods run on the kit's real node, and
  its blob is changed on disk (same file name, one byte flipped) while the node's agent is frozen.
  A scheduler pod deleted then comes back, and its verify-store init container refuses the file
  (StoreFileTampered, naming the digest); the scheduler container does not start. Once thawed,
  the agent finds at its next resync that the file changed since it verified it, re-hashes it,
  removes it and pulls it again; the pod then starts and schedules by the plugin's rule.
- The registry: a proxy in front of the kit's registry serves the plugin's layer with one byte
  flipped (tests/support/corrupting_registry.py). The operator hashes what it received and
  refuses it (Validated False, DigestMismatch); nothing is staged or rolled out, and the plugin
  already live on the same scheduler keeps scheduling. The node agents never pull it: they pull
  only what the operator verified and validated, and the real node's agent pod cannot reach a
  proxy on the host's loopback (agent-side refusal of wrong bytes: tests/e2e/test_agent_staging.py).
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from support.corrupting_registry import CorruptingRegistry, corrupting_registry
from support.fault_clock import within_bound
from support.kit import KitHandle
from support.pod_placement import digit_rule_broken
from support.registries import of_kit
from support.rollout_system import Body, System, condition, running_system
from support.staging_kit import final_files_match_names
from support.wasm_assets import with_custom_section
from wasmgate.api.base import GROUP, VERSION
from wasmgate.rollout.names import CONTAINER_VERIFY_STORE, LABEL_SCHEDULER
from wasmgate_kit.install import AGENT
from wasmgate_kit.real_node import NODE_NAME, RealNode
from wasmgate_kit.system import SYSTEM_NAMESPACE
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

CASE_BOUND_SECONDS = 240.0
# A short agent resync: the agent checks its blobs on every reconcile.
AGENT_RESYNC_SECONDS = 2
STEP_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def proxy(kit_session: KitHandle) -> Iterator[CorruptingRegistry]:
    with corrupting_registry(of_kit(kit_session.kit)["distribution"].host) as served:
        yield served


@pytest.fixture(scope="module")
def system(
    kit_session: KitHandle,
    real_node: RealNode,
    wasm_assets: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    proxy: CorruptingRegistry,
) -> Iterator[System]:
    kit = kit_session
    work = tmp_path_factory.mktemp("corrupt-e2e")
    registry = of_kit(kit.kit)["distribution"]
    with running_system(
        kit, work, registry, wasm_assets,
        operator_flags=[f"--plain-http-registry={proxy.host}"],
        agent_flags=[f"--resync={AGENT_RESYNC_SECONDS}"],
    ) as created:  # fmt: skip
        yield created


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _live(system: System, scheduler: str, plugin: str) -> tuple[str, Body]:
    """A plugin of its own bytes (the digit rule) live on a new scheduler; its layer and the
    scheduler's status."""
    system.scheduler(scheduler)
    data = with_custom_section(system.asset("filter_node_name_suffix"), plugin)
    generation = system.plugin(plugin, scheduler, system.publish(plugin, "v1", data))
    rolled = system.wait_rolled_out(plugin, generation, scheduler)
    system.only_revision_running(scheduler)
    layer = system.get("wasmplugins", plugin)["status"]["layerDigest"]
    assert layer == _digest(data)
    return layer, rolled["status"]


def _entry(system: System, layer: str) -> dict[str, Any] | None:
    cache = client.CustomObjectsApi(system.api).get_cluster_custom_object(
        GROUP, VERSION, "wasmnodecaches", NODE_NAME
    )
    entries = (cache.get("status") or {}).get("entries") or []
    return next((e for e in entries if e["digest"] == layer), None)


def _blob(system: System, layer: str) -> Path:
    return system.store / "sha256" / layer.split(":", 1)[1]


def _pods(system: System, scheduler: str) -> list[client.V1Pod]:
    listed = client.CoreV1Api(system.api).list_namespaced_pod(
        SYSTEM_NAMESPACE, label_selector=f"{LABEL_SCHEDULER}={scheduler}"
    )
    return [p for p in listed.items if not p.metadata.deletion_timestamp]


def _refused(pod: client.V1Pod) -> client.V1ContainerStateTerminated | None:
    """verify-store's failed run in the pod (the current one or the last before a back-off)."""
    for status in pod.status.init_container_statuses or []:
        if status.name != CONTAINER_VERIFY_STORE:
            continue
        for state in (status.state, status.last_state):
            if state is not None and state.terminated and state.terminated.exit_code != 0:
                return state.terminated
    return None


def _agent_log(system: System) -> str:
    core = client.CoreV1Api(system.api)
    pods = core.list_namespaced_pod(SYSTEM_NAMESPACE, field_selector=f"spec.nodeName={NODE_NAME}")
    agent = next(p for p in pods.items if p.metadata.name.startswith(f"{AGENT}-"))
    log: str = core.read_namespaced_pod_log(agent.metadata.name, SYSTEM_NAMESPACE, tail_lines=400)
    return log


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_blob_corrupted_on_disk_is_refused_by_verify_store_and_pulled_again(
    system: System,
) -> None:
    started = time.monotonic()
    scheduler, plugin = "corrupt-disk", "corrupt-disk-filter"
    layer, live = _live(system, scheduler, plugin)
    blob = _blob(system, layer)
    (old_pod,) = (p.metadata.name for p in _pods(system, scheduler))

    # 1. With the agent frozen (it cannot repair anything yet), flip one byte of the live blob in
    # place and delete the scheduler pod.
    system.signal_agents(signal.SIGSTOP)
    try:
        corrupted_at = datetime.now(UTC)
        with blob.open("r+b") as handle:
            handle.seek(blob.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0xFF]))
        assert final_files_match_names(system.store) == [blob.name]
        client.CoreV1Api(system.api).delete_namespaced_pod(
            old_pod, SYSTEM_NAMESPACE, grace_period_seconds=0
        )

        # 2. The new pod's verify-store refuses the file, naming it and why; the scheduler
        # container never starts.
        def refused() -> tuple[client.V1Pod, client.V1ContainerStateTerminated] | None:
            for pod in _pods(system, scheduler):
                terminated = _refused(pod) if pod.metadata.name != old_pod else None
                if terminated is not None:
                    return pod, terminated
            return None

        pod, terminated = wait_for(refused, what="verify-store refusing", timeout=STEP_TIMEOUT)
        message = terminated.message or ""
        assert "StoreFileTampered" in message and blob.name in message, message
        assert "not its name" in message, message
        (container,) = pod.status.container_statuses or []
        assert container.state.running is None and container.state.terminated is None
        assert container.restart_count == 0 and not container.started, container
        # The frozen agent still reports what it last verified: the entry cannot know yet.
        assert (_entry(system, layer) or {}).get("state") == "Ready"
    finally:
        system.signal_agents(signal.SIGCONT)

    # 3. The agent notices at its next resync, removes the file and pulls it again; its entry
    # says when the bytes were verified again.
    def pulled_again() -> dict[str, Any] | None:
        entry = _entry(system, layer)
        fresh = entry is not None and entry["state"] == "Ready" and "verifiedAt" in entry
        return entry if fresh and _instant(entry["verifiedAt"]) >= corrupted_at else None

    entry = system.wait("the blob pulled again", pulled_again, plugin, scheduler)
    assert f"{layer} changed on disk after it was verified; pulling it again" in _agent_log(system)
    assert final_files_match_names(system.store) == []
    assert blob.is_file()

    # 4. The same revision's pod starts (verify-store passes now) and schedules by the rule.
    assert system.only_revision_running(scheduler) == live["configMapName"]
    (pod,) = _pods(system, scheduler)
    (container,) = pod.status.container_statuses
    assert container.restart_count == 0
    assert container.state.running.started_at >= _instant(entry["verifiedAt"]).replace(
        microsecond=0
    ), (container.state.running.started_at, entry["verifiedAt"])
    after = system.get("wasmschedulers", scheduler)["status"]
    assert after["activeRevision"] == live["activeRevision"]
    body = system.get("wasmplugins", plugin)
    assert body["status"]["phase"] == "Ready", body["status"]
    assert digit_rule_broken(system.place_pods("corrupt-disk", scheduler, count=3)) == {}
    system.check_alive()
    within_bound("corrupt-blob[on-disk]", started, CASE_BOUND_SECONDS)


def test_a_registry_serving_wrong_bytes_is_refused_and_the_live_plugin_keeps_scheduling(
    system: System, proxy: CorruptingRegistry
) -> None:
    started = time.monotonic()
    scheduler, live_plugin, plugin = "wrong-bytes", "wrong-bytes-live", "wrong-bytes-refused"
    live_layer, live = _live(system, scheduler, live_plugin)

    # The artifact is pushed and signed on the registry itself; the plugin names it through the
    # proxy, which flips a byte of its layer.
    data = with_custom_section(system.asset("filter_node_name_suffix"), plugin)
    layer = _digest(data)
    image = system.publish(plugin, "v1", data)
    proxy.corrupt.add(layer)
    proxied = image.replace(system.registry.host, proxy.host, 1)
    generation = system.plugin(plugin, scheduler, proxied)

    def refused() -> Body | None:
        found = condition(system.get("wasmplugins", plugin), "Validated")
        current = found is not None and found.get("observedGeneration") == generation
        return found if current and found["status"] == "False" else None

    validated = system.wait("the wrong bytes refused", refused, plugin, scheduler)
    assert validated["reason"] == "DigestMismatch", validated
    assert layer in validated["message"], validated
    assert "the registry's copy is corrupt or was tampered with" in validated["message"]
    assert layer in proxy.served
    body = system.get("wasmplugins", plugin)
    assert (condition(body, "Verified") or {}).get("status") == "True", body["status"]
    assert body["status"]["phase"] != "Ready", body["status"]
    # Nothing staged: no entry, no file; nothing rolled: the same revision, the same pods.
    assert _entry(system, layer) is None
    assert not _blob(system, layer).exists()
    assert final_files_match_names(system.store) == []
    after = system.get("wasmschedulers", scheduler)["status"]
    assert (after["configMapName"], after["activeRevision"]) == (
        live["configMapName"],
        live["activeRevision"],
    )
    assert system.only_revision_running(scheduler) == live["configMapName"]
    assert _blob(system, live_layer).is_file()
    assert digit_rule_broken(system.place_pods("wrong-bytes", scheduler, count=3)) == {}
    system.check_alive()
    within_bound("corrupt-blob[registry-wrong-bytes]", started, CASE_BOUND_SECONDS)
