"""Rollouts driven by the operator on the kit, with upstream's scheduler deciding placement.

Everything is the real path: plugins are pushed with `wasmgate push` and signed with cosign, the
operator (`wasmgate run`) resolves, verifies and validates them, the agent of the kit's real node
stages them into the node's store, the operator renders the ConfigMap, rolls the Deployment and
judges its pods; the real node's kubelet runs each scheduler pod from upstream's scheduler image
(built here, pulled from a kit registry) behind the verify-store init container, and that
scheduler binds the test's pods to kwok nodes.

The tests hold the real node's kubelet (SIGSTOP) to act between the moment a rollout starts and
the moment its pods start (remove a staged file, kill the operator, restart the apiserver).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from support.kit import KitHandle
from support.pod_placement import digit_rule_broken, inverted_rule_broken
from support.registries import of_kit
from support.rollout_system import Body, System, condition, revisions, running_system
from support.wasm_assets import with_custom_section
from wasmgate.api.base import GROUP, VERSION
from wasmgate.runner.kube_json import as_json
from wasmgate_kit.nodes import kit_node_name
from wasmgate_kit.real_node import RealNode
from wasmgate_kit.system import OPERATOR_PROCESS, SYSTEM_NAMESPACE
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(
    kit_session: KitHandle,
    real_node: RealNode,
    wasm_assets: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    kit = kit_session
    work = tmp_path_factory.mktemp("rollout-e2e")
    with running_system(kit, work, of_kit(kit.kit)["oci"], wasm_assets) as created:
        yield created


def test_a_plugin_rolls_out_then_a_new_version_then_a_broken_one_is_rolled_back(
    system: System,
) -> None:
    scheduler, plugin = "rollout-e2e", "nodedigit"
    system.scheduler(scheduler)

    # 1. the pod-digit rule: each pod lands on the node ending with its last digit.
    v1 = system.publish(plugin, "v1", system.asset("filter_node_name_suffix"))
    # No guestConfig: each build's default rule applies, so a new version is a new rule.
    generation = system.plugin(plugin, scheduler, v1)
    status = system.wait_rolled_out(plugin, generation, scheduler)["status"]
    first_map = system.only_revision_running(scheduler)
    assert [p["name"] for p in status["plugins"]] == [plugin]
    assert digit_rule_broken(system.place_pods("digit", scheduler)) == {}
    body = system.get("wasmplugins", plugin)
    assert body["status"]["phase"] == "Ready"
    staging = body["status"]["staging"]
    # `kubectl describe wasmplugin` tells the story in two Events: the pipeline's pass (one
    # Event naming each stage's result) and the rollout; staging along the ordinary path posts
    # none (its condition says it).
    reasons = system.event_reasons(plugin)
    assert {"Validated", "RolledOut"} <= reasons, reasons
    assert not {"Resolved", "Verified", "Pulling", "AllNodesStaged"} & reasons, reasons
    # Staged where the scheduler pods may run: the real node only (its selector and toleration).
    nodes = [as_json(system.api, n) for n in client.CoreV1Api(system.api).list_node().items]
    taints = {n["metadata"]["name"]: n["spec"].get("taints") for n in nodes}
    assert (staging["ready"], staging["desired"], staging["summary"]) == (1, 1, "1/1"), taints

    # 2. a new signed version with the inverted rule rolls out; revision 1's ConfigMap is kept.
    v2 = system.publish(plugin, "v2", system.asset("filter_node_name_suffix_inverted"))
    generation = system.plugin(plugin, scheduler, v2)
    second = system.wait_rolled_out(plugin, generation, scheduler)
    second_map = system.only_revision_running(scheduler)
    assert second_map != first_map
    assert inverted_rule_broken(system.place_pods("inverted", scheduler)) == {}
    assert system.config_map_exists(first_map)
    active = second["status"]["activeRevision"]
    assert (active, "Active") in revisions(second)
    assert (active - 1, "Superseded") in revisions(second)

    # 3. a version the scheduler cannot load: its file vanishes from the node's store after
    # staging, while the kubelet is held (so the new pod has not started) and the agents are
    # frozen (or they would pull it again at once); the verify-store init container refuses to
    # start the scheduler. The rollout fails, the previous revision is restored, and the old
    # rule keeps placing pods.
    broken_bytes = with_custom_section(system.asset("filter_node_name_suffix"), "v3")
    v3 = system.publish(plugin, "v3", broken_bytes)
    system.hold_pods()
    broken = system.plugin(plugin, scheduler, v3)

    def progressing() -> str | None:
        body = system.get("wasmschedulers", scheduler)
        latest = body["status"]["revisions"][-1]
        if latest["outcome"] != "Progressing":
            return None
        return str(latest["plugins"][0]["layerDigest"])

    layer = system.wait("the broken revision progressing", progressing, plugin, scheduler)
    system.signal_agents(signal.SIGSTOP)
    (system.store / "sha256" / layer.removeprefix("sha256:")).unlink()
    system.release_pods()

    def rollout_failed() -> Body | None:
        rolled = condition(system.get("wasmplugins", plugin), "RolledOut")
        failed = rolled is not None and rolled["observedGeneration"] == broken
        return rolled if failed and rolled["status"] == "False" else None

    try:
        rolled = system.wait("RolloutFailed", rollout_failed, plugin, scheduler)
    finally:
        system.signal_agents(signal.SIGCONT)
    assert rolled["reason"] == "RolloutFailed"
    assert layer.removeprefix("sha256:") in rolled["message"], rolled["message"]
    after = system.get("wasmschedulers", scheduler)
    assert after["status"]["activeRevision"] == active
    assert after["status"]["configMapName"] == second_map
    assert revisions(after)[-1] == (active + 1, "Failed")
    assert system.get("wasmplugins", plugin)["status"]["phase"] == "Failed"
    assert system.only_revision_running(scheduler) == second_map
    assert inverted_rule_broken(system.place_pods("after-failure", scheduler)) == {}


SCORE_LABEL = "wasmgate.dev/rollout-e2e-score"
NODE_SCORES = {kit_node_name(0): "10", kit_node_name(1): "50", kit_node_name(2): "90"}


@pytest.fixture
def scored_nodes(system: System) -> Iterator[None]:
    core = client.CoreV1Api(system.api)
    for node, score in NODE_SCORES.items():
        core.patch_node(node, {"metadata": {"labels": {SCORE_LABEL: score}}})
    yield
    for node in NODE_SCORES:
        core.patch_node(node, {"metadata": {"labels": {SCORE_LABEL: None}}})


def test_two_plugins_in_one_scheduler_and_a_second_scheduler(
    system: System, scored_nodes: None
) -> None:
    # "pair": a filter (avoid the pod's digit) and a score (prefer the highest label) together;
    # "solo": another scheduler with another plugin, rolled out at the same time.
    system.scheduler("rollout-pair")
    system.scheduler("rollout-solo")
    filter_image = system.publish("filter", "v1", system.asset("filter_node_name_suffix"))
    score_image = system.publish("score", "v1", system.asset("score_node_label"))
    pair_filter = system.plugin("pair-filter", "rollout-pair", filter_image,
                                guestConfig="not-pod-digit")  # fmt: skip
    pair_score = system.plugin("pair-score", "rollout-pair", score_image,
                               guestConfig=SCORE_LABEL, weight=10)  # fmt: skip
    solo = system.plugin("solo-filter", "rollout-solo", filter_image, guestConfig="suffix=-0")

    system.wait_rolled_out("pair-filter", pair_filter, "rollout-pair")
    pair = system.wait_rolled_out("pair-score", pair_score, "rollout-pair")
    lone = system.wait_rolled_out("solo-filter", solo, "rollout-solo")
    assert [p["name"] for p in pair["status"]["plugins"]] == ["pair-filter", "pair-score"]
    assert [p["name"] for p in lone["status"]["plugins"]] == ["solo-filter"]
    system.only_revision_running("rollout-pair")
    system.only_revision_running("rollout-solo")

    placed = system.place_pods("pair", "rollout-pair", count=6)
    best = {pod: kit_node_name(1) if pod[-1] == "2" else kit_node_name(2) for pod in placed}
    assert placed == best
    placed = system.place_pods("solo", "rollout-solo", count=6)
    assert set(placed.values()) == {kit_node_name(0)}


def test_a_module_upstream_fails_on_never_reaches_the_scheduler(system: System) -> None:
    # filter_trap_unreachable loads in upstream's scheduler, but its filter returns Error for
    # every pod (the differential suite agrees): signed and verified, it must still never be
    # staged, rendered or rolled; the scheduler keeps placing pods with the plugin it has.
    scheduler = "refusal-e2e"
    system.scheduler(scheduler)
    good = system.publish("refusal-good", "v1", system.asset("filter_node_name_suffix"))
    generation = system.plugin("refusal-good", scheduler, good)
    before = system.wait_rolled_out("refusal-good", generation, scheduler)["status"]
    config_map = system.only_revision_running(scheduler)

    bad = system.publish("refusal-bad", "v1", system.asset("filter_trap_unreachable"))
    system.plugin("refusal-bad", scheduler, bad)

    def validated() -> Body | None:
        found = condition(system.get("wasmplugins", "refusal-bad"), "Validated")
        return found if found is not None and found["status"] == "False" else None

    refused = system.wait("refusal-bad Validated=False", validated, "refusal-bad", scheduler)
    assert refused["reason"] == "DryRunTrapped", refused
    assert "filter (node node-0) trapped" in refused["message"], refused["message"]
    body = system.get("wasmplugins", "refusal-bad")
    assert condition(body, "Verified")["status"] == "True"  # signed: only validation stops it
    layer = body["status"]["layerDigest"]
    after = system.get("wasmschedulers", scheduler)["status"]
    assert [p["name"] for p in after["plugins"]] == ["refusal-good"]
    assert (after["activeRevision"], after["configMapName"]) == (
        before["activeRevision"],
        config_map,
    )
    rendered = client.CoreV1Api(system.api).read_namespaced_config_map(config_map, SYSTEM_NAMESPACE)
    assert "refusal-bad" not in json.dumps(rendered.data)
    caches = client.CustomObjectsApi(system.api).list_cluster_custom_object(
        GROUP, VERSION, "wasmnodecaches"
    )
    assert layer not in json.dumps([c.get("status") for c in caches["items"]])
    assert digit_rule_broken(system.place_pods("refusal", scheduler, count=3)) == {}


def _disrupted_mid_rollout(
    system: System, name: str, node_digit: int, disrupt: Callable[[], None]
) -> None:
    """Roll a plugin out, change its rule with the pods held, call `disrupt` while the new
    revision is Progressing, release the pods: the rollout must finish the revision it started
    (no second one) and the new rule must schedule."""
    scheduler, plugin = f"rollout-{name}", f"{name}-filter"
    system.scheduler(scheduler)
    image = system.publish(name, "v1", system.asset("filter_node_name_suffix"))
    generation = system.plugin(plugin, scheduler, image, guestConfig="suffix=-0")
    before = revisions(system.wait_rolled_out(plugin, generation, scheduler))

    system.hold_pods()
    generation = system.plugin(plugin, scheduler, image, guestConfig=f"suffix=-{node_digit}")

    def progressing() -> int | None:
        latest = system.get("wasmschedulers", scheduler)["status"]["revisions"][-1]
        return int(latest["revision"]) if latest["outcome"] == "Progressing" else None

    started = system.wait("a revision Progressing", progressing, plugin, scheduler)
    assert started == before[-1][0] + 1
    disrupt()
    system.release_pods()

    after = system.wait_rolled_out(plugin, generation, scheduler)
    assert revisions(after)[-1] == (started, "Active")
    assert len(revisions(after)) == len(before) + 1
    system.only_revision_running(scheduler)
    placed = system.place_pods(name, scheduler, count=3)
    assert set(placed.values()) == {kit_node_name(node_digit)}
    system.check_alive()


def test_an_operator_killed_mid_rollout_is_resumed_by_the_next_one(system: System) -> None:
    _disrupted_mid_rollout(system, "resume", 1, system.kill_operator)


def test_a_kube_apiserver_restarted_mid_rollout_loses_nothing(system: System) -> None:
    # Fault suite: the apiserver goes away and comes back on the same port and etcd; the
    # operator, agents and the real node's kubelet reconnect.
    def restart_the_apiserver() -> None:
        apiserver = next(p for p in system.kit.kit.processes() if p.name == "kube-apiserver")
        apiserver.stop()
        apiserver.start()
        core = client.CoreV1Api(system.api)
        wait_for(
            lambda: core.list_namespace(limit=1) is not None, what="the apiserver back", timeout=60
        )

    _disrupted_mid_rollout(system, "apiserver", 2, restart_the_apiserver)


def test_the_operator_logged_no_unhandled_error(system: System) -> None:
    # Runs last in this module: a handler that raised (kopf logs it and goes on) is a bug even
    # when the scenarios above still passed.
    logs = [process.log_path for process in system.processes if process.name == OPERATOR_PROCESS]
    text = "\n".join(path.read_text(errors="replace") for path in set(logs))
    assert "Traceback" not in text, text[text.find("Traceback") - 2000 :][:6000]
