"""The operator and the agent SIGKILLed in the middle of their work lose nothing and redo nothing
(issue 15, fault suite).

Each case holds a new plugin at one stage, kills a process there (no handler finishes, nothing is
cleaned up) and lets the stage go on: the successor (a new operator process; the agent pod's
container, restarted by the real node's kubelet) must bring the plugin to Ready with one
revision, one Event per pipeline stage, and no hidden or partial file in the node's store.

Where a stage is held:
- Resolving: the registry is frozen (SIGSTOP) and the operator holds a connection to it.
- Staging: every node agent is frozen, so the operator's pass ends with phase Staging.
- The agent mid-pull: the registry is frozen after the agents thaw, so the pull the agent began
  (its WasmNodeCache entry says Pulling) waits on it.
Verifying and Validating run in the same operator pass as resolving, against the same
registry and then in memory: freezing the registry stops the pass in resolve, and nothing holds
the pass between verify and validate, so those two stages are not caught here.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from support.fault_clock import within_bound
from support.kit import KitHandle
from support.pod_placement import digit_rule_broken
from support.registries import of_kit
from support.rollout_system import Body, System, revisions, running_system
from support.staging_kit import final_files_match_names
from support.wasm_assets import with_custom_section
from wasmgate.api.base import GROUP, VERSION
from wasmgate_kit.real_node import NODE_NAME, RealNode

pytestmark = pytest.mark.e2e

CASE_BOUND_SECONDS = 240.0
# A pass posts its successes as one Event named by its last stage (reconcile.pipeline
# one_per_pass): the pipeline is recorded once, as Validated, and never stage by stage.
PIPELINE_EVENTS = {"Resolved": 0, "Verified": 0, "Validated": 1}


@pytest.fixture(scope="module")
def system(
    kit_session: KitHandle,
    real_node: RealNode,
    wasm_assets: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    kit = kit_session
    work = tmp_path_factory.mktemp("sigkill-e2e")
    # A registry the kit runs as a process of its own, so a test can freeze it.
    registry = of_kit(kit.kit)["distribution"]
    with running_system(kit, work, registry, wasm_assets) as created:
        yield created


def _own_bytes(system: System, plugin: str) -> bytes:
    """The digit-rule module with a custom section naming the plugin: a layer of its own, which
    no earlier case left in the store, so the agent has to pull it."""
    return with_custom_section(system.asset("filter_node_name_suffix"), plugin)


def _phase(system: System, plugin: str, wanted: str) -> Callable[[], Body | None]:
    def probe() -> Body | None:
        body = system.get("wasmplugins", plugin)
        return body if (body.get("status") or {}).get("phase") == wanted else None

    return probe


def _event_counts(system: System, plugin: str) -> Counter[str]:
    """How many times each Event reason was recorded for the plugin (repeats folded into one
    Event by the recorder count as many)."""
    events = client.CoreV1Api(system.api).list_event_for_all_namespaces(
        field_selector=f"involvedObject.name={plugin}"
    )
    counts: Counter[str] = Counter()
    for event in events.items:
        counts[str(event.reason)] += event.count or 1
    return counts


def _hidden_store_files(system: System) -> list[str]:
    """Leftovers of an interrupted pull: dot files (staging and .part files) in the store."""
    directory = system.store / "sha256"
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def _finished_once(system: System, plugin: str, scheduler: str, generation: int) -> None:
    """Ready with one revision, the pipeline recorded once (one Event), a clean store, and the
    plugin's rule placing pods."""
    after = system.wait_rolled_out(plugin, generation, scheduler)
    body = system.get("wasmplugins", plugin)
    assert body["status"]["phase"] == "Ready"
    # The scheduler's first revision ran no plugin; exactly one more rolled this one out.
    layer = body["status"]["layerDigest"]
    rolled = [
        (revision["revision"], revision["outcome"])
        for revision in after["status"]["revisions"]
        if layer in [p["layerDigest"] for p in revision.get("plugins") or []]
    ]
    assert rolled == [revisions(after)[-1]] and rolled[0][1] == "Active", revisions(after)
    counts = _event_counts(system, plugin)
    assert {reason: counts[reason] for reason in PIPELINE_EVENTS} == PIPELINE_EVENTS, counts
    assert _hidden_store_files(system) == []
    assert final_files_match_names(system.store) == []
    system.only_revision_running(scheduler)
    assert digit_rule_broken(system.place_pods(plugin, scheduler, count=3)) == {}
    system.check_alive()


def _hold_resolving(system: System) -> Callable[[], None]:
    system.signal_registry(signal.SIGSTOP)
    return lambda: system.signal_registry(signal.SIGCONT)


def _hold_staging(system: System) -> Callable[[], None]:
    system.signal_agents(signal.SIGSTOP)
    return lambda: system.signal_agents(signal.SIGCONT)


HOLDS = {"Resolving": _hold_resolving, "Staging": _hold_staging}


@pytest.mark.parametrize("stage", list(HOLDS))
def test_an_operator_sigkilled_at_a_stage_is_resumed_without_repeating_work(
    system: System, stage: str
) -> None:
    started = time.monotonic()
    scheduler, plugin = f"sigkill-{stage.lower()}", f"sigkill-{stage.lower()}-filter"
    system.scheduler(scheduler)
    image = system.publish(plugin, "v1", _own_bytes(system, plugin))
    release = HOLDS[stage](system)
    try:
        generation = system.plugin(plugin, scheduler, image)
        if stage == "Resolving":
            caught = system.operator_reaches_registry
        else:
            caught = _phase(system, plugin, stage)
        system.wait(f"the operator at {stage}", caught, plugin, scheduler)
        system.kill_operator()
    finally:
        release()
    _finished_once(system, plugin, scheduler, generation)
    within_bound(f"operator-sigkill[{stage}]", started, CASE_BOUND_SECONDS)


def _entry_state(system: System, layer: str) -> str | None:
    try:
        cache = client.CustomObjectsApi(system.api).get_cluster_custom_object(
            GROUP, VERSION, "wasmnodecaches", NODE_NAME
        )
    except client.ApiException:
        return None
    entries = (cache.get("status") or {}).get("entries") or []
    return next((str(e["state"]) for e in entries if e["digest"] == layer), None)


def test_an_agent_sigkilled_mid_pull_is_restarted_and_stages_without_leftovers(
    system: System,
) -> None:
    started = time.monotonic()
    scheduler, plugin = "sigkill-agent", "sigkill-agent-filter"
    system.scheduler(scheduler)
    image = system.publish(plugin, "v1", _own_bytes(system, plugin))
    restarts = system.agent_pod_restarts()
    system.signal_agents(signal.SIGSTOP)
    try:
        generation = system.plugin(plugin, scheduler, image)
        staging = system.wait("phase Staging", _phase(system, plugin, "Staging"), plugin, scheduler)
        layer = staging["status"]["layerDigest"]
        system.signal_registry(signal.SIGSTOP)
        try:
            system.signal_agents(signal.SIGCONT)

            def pulling() -> bool:
                return _entry_state(system, layer) == "Pulling"

            system.wait("the agent pulling", pulling, plugin, scheduler)
            agents = system.node.pod_processes("agent")
            assert agents, "the real node's agent process"
            for pid in agents:
                os.kill(pid, signal.SIGKILL)
        finally:
            system.signal_registry(signal.SIGCONT)
    finally:
        system.signal_agents(signal.SIGCONT)

    def restarted() -> bool:
        return system.agent_pod_restarts() > restarts

    system.wait("the agent container restarted", restarted, plugin, scheduler)
    _finished_once(system, plugin, scheduler, generation)
    within_bound("agent-sigkill[mid-pull]", started, CASE_BOUND_SECONDS)
