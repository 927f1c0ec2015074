"""Rolling a scheduler configuration on the kit, with the real wasm scheduler deciding placement.

The rollout functions run against the kit's apiserver (the operator wiring drives the same
`rollout_step`); the kit kubelet runs every scheduler pod as a `wasm-scheduler` process with the
ConfigMap the pod mounts. The node agent's part is played by writing the verified layer into
each kit node's store directory; everything after that is real: ConfigMaps, the Deployment and
its controller, RBAC of the scheduler's ServiceAccount, the scheduler binding pods.

One scenario, in order, because each step starts from the state the previous one left:
1. the pod-digit filter rolls out; ten pods land on the node whose name ends with their digit;
2. the inverted filter (a new plugin generation) rolls out; new pods avoid that node; the first
   revision's ConfigMap is kept;
3. a module whose `_start` traps rolls out, the scheduler cannot start, the rollout fails and
   the previous revision is restored; the plugin shows RolloutFailed with the scheduler's error,
   and new pods are still placed by the inverted rule.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.kit import KitHandle
from wasmgate.api.base import GROUP, VERSION
from wasmgate.kit.kubelet import KitKubelet, kit_store_dir, start_kit_kubelet
from wasmgate.kit.nodes import DEFAULT_NODE_COUNT, kit_node_name
from wasmgate.kit.wait import wait_for
from wasmgate.rollout.apply import as_json, plugins_for_scheduler, rollout_step
from wasmgate.rollout.machine import Decision, Step
from wasmgate.rollout.names import LABEL_CONFIG_HASH, LABEL_SCHEDULER
from wasmgate.rollout.settings import RolloutConfig

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ASSETS_BUILDER = ROOT / "tests" / "assets" / "wasm" / "build_assets.py"
NAMESPACE = "rollout-e2e"
SCHEDULER = "rollout-e2e"
PLUGIN = "nodedigit"
PODS_NAMESPACE = "default"
SETTINGS = RolloutConfig(namespace=NAMESPACE, min_ready_seconds=3)
ROLLOUT_TIMEOUT = 120.0
POD_COUNT = 10


@dataclass
class Scenario:
    kit: KitHandle
    api: client.ApiClient
    assets: dict[str, Path]
    layers: dict[str, str]
    kubelet: KitKubelet
    created: list[tuple[str, str]] = field(default_factory=list)


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wasm_assets_builder", ASSETS_BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stage_everywhere(kit: KitHandle, wasm: Path) -> str:
    """Put the module into every kit node's store, as the node agent would; return its digest."""
    data = wasm.read_bytes()
    hex_ = hashlib.sha256(data).hexdigest()
    for index in range(DEFAULT_NODE_COUNT):
        store = kit_store_dir(kit.state_dir, kit_node_name(index)) / "sha256"
        store.mkdir(parents=True, exist_ok=True)
        (store / hex_).write_bytes(data)
    return f"sha256:{hex_}"


@pytest.fixture(scope="module")
def kubelet(kit_session: KitHandle) -> Iterator[KitKubelet]:
    existing = getattr(kit_session.kit, "kubelet", None)
    if isinstance(existing, KitKubelet):
        yield existing
        return
    started = start_kit_kubelet(kit_session.kit)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def scenario(
    kit_session: KitHandle, kubelet: KitKubelet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    kit = kit_session
    kit.kubectl("apply", "--server-side", "-k", ROOT / "crds")
    kit.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/wasmschedulers.wasmgate.dev"
    )
    kit.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/wasmplugins.wasmgate.dev"
    )
    builder = _load_builder()
    try:
        assets = builder.build_all(tmp_path_factory.mktemp("rollout-wasm"))
    except builder.AssetBuildError as e:
        pytest.fail(str(e))
    layers = {
        name: _stage_everywhere(kit, assets[name])
        for name in ("filter_node_name_suffix", "filter_node_name_suffix_inverted", "start_trap")
    }
    layers["score_node_label"] = _stage_everywhere(kit, assets["score_node_label"])
    with kit.api_client() as api:
        created = Scenario(kit, api, assets, layers, kubelet)
        _create_scheduler(created, SCHEDULER)
        _create_plugin(created, PLUGIN, SCHEDULER)
        yield created
        custom = client.CustomObjectsApi(api)
        for plural, name in created.created:
            custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)


def _create_scheduler(scenario: Scenario, name: str) -> None:
    client.CustomObjectsApi(scenario.api).create_cluster_custom_object(
        GROUP,
        VERSION,
        "wasmschedulers",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "WasmScheduler",
            "metadata": {"name": name},
            "spec": {
                "image": "registry.example/wasm-scheduler:v1",
                "rollout": {"progressDeadlineSeconds": 60},
            },
        },
    )
    scenario.created.append(("wasmschedulers", name))


def _create_plugin(scenario: Scenario, name: str, scheduler: str, **settings: str | int) -> None:
    client.CustomObjectsApi(scenario.api).create_cluster_custom_object(
        GROUP,
        VERSION,
        "wasmplugins",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "WasmPlugin",
            "metadata": {"name": name},
            "spec": {
                "source": {"image": f"registry.example/{name}:v1"},
                "scheduler": {"schedulers": [scheduler], **settings},
            },
        },
    )
    scenario.created.insert(0, ("wasmplugins", name))


def _set_plugin_version(
    scenario: Scenario,
    image: str,
    asset: str,
    plugin_name: str = PLUGIN,
    scheduler_settings: dict[str, str | int] | None = None,
) -> int:
    """Change the plugin's spec, then record what resolve/verify/validate would have found."""
    custom = client.CustomObjectsApi(scenario.api)
    spec: dict[str, Any] = {"source": {"image": image}}
    if scheduler_settings:
        spec["scheduler"] = scheduler_settings
    plugin = custom.patch_cluster_custom_object(
        GROUP, VERSION, "wasmplugins", plugin_name, {"spec": spec}
    )
    generation = int(plugin["metadata"]["generation"])
    layer = scenario.layers[asset]
    manifest = "sha256:" + hashlib.sha256(f"{image}@{layer}".encode()).hexdigest()
    custom.patch_cluster_custom_object_status(
        GROUP,
        VERSION,
        "wasmplugins",
        plugin_name,
        {
            "status": {
                "digest": manifest,
                "layerDigest": layer,
                "staging": {"ready": DEFAULT_NODE_COUNT, "desired": DEFAULT_NODE_COUNT},
                "conditions": [
                    {
                        "type": step,
                        "status": "True",
                        "reason": "Succeeded",
                        "message": "",
                        "observedGeneration": generation,
                        "lastTransitionTime": "2026-01-01T00:00:00Z",
                    }
                    for step in ("Resolved", "Verified", "Validated", "Staged")
                ],
            }
        },
    )
    return generation


def _step(scenario: Scenario, name: str = SCHEDULER) -> Decision:
    custom = client.CustomObjectsApi(scenario.api)
    scheduler: dict[str, Any] = custom.get_cluster_custom_object(
        GROUP, VERSION, "wasmschedulers", name
    )
    plugins = custom.list_cluster_custom_object(GROUP, VERSION, "wasmplugins")["items"]
    entries = plugins_for_scheduler(plugins, name)
    staged = set(scenario.layers.values())
    return rollout_step(scenario.api, scheduler, entries, staged, settings=SETTINGS)


def _roll_until(scenario: Scenario, *steps: Step, name: str = SCHEDULER) -> Decision:
    """Call the rollout step (as the operator's timer would) until it reports one of `steps`."""
    seen: list[str] = []

    def probe() -> Decision | None:
        decision = _step(scenario, name)
        history = [
            (r.revision, r.outcome.value, r.config_map_name) for r in decision.status.revisions
        ]
        seen.append(f"{decision.step}: {decision.message} {history}")
        return decision if decision.step in steps else None

    try:
        return wait_for(probe, what=f"rollout step {steps}", timeout=ROLLOUT_TIMEOUT, interval=1.0)
    except AssertionError as e:
        raise AssertionError(f"{e}\nsteps seen:\n" + "\n".join(seen[-15:])) from e


def _only_revision_running(scenario: Scenario, config_map: str, name: str = SCHEDULER) -> None:
    """Wait until every scheduler process runs `config_map`: the old one has stopped, so it
    cannot bind the pods the test creates next."""
    hash_ = config_map.rsplit("-", 1)[-1]

    def probe() -> dict[str, str] | None:
        running = scenario.kubelet.running_pods(LABEL_SCHEDULER, name)
        hashes = {pod: labels.get(LABEL_CONFIG_HASH, "") for pod, labels in running.items()}
        return hashes if hashes and set(hashes.values()) == {hash_} else None

    wait_for(probe, what=f"only scheduler processes of {config_map}", timeout=ROLLOUT_TIMEOUT)


def _place_pods(
    scenario: Scenario, prefix: str, scheduler: str = SCHEDULER, count: int = POD_COUNT
) -> dict[str, str]:
    """Create pods for a wasm scheduler; return pod name -> node once all are bound."""
    core = client.CoreV1Api(scenario.api)
    # Every pod name ends with the digit of a kit node, so each rule has a node to pick.
    names = [f"{prefix}-{index}-{index % DEFAULT_NODE_COUNT}" for index in range(count)]
    for name in names:
        core.create_namespaced_pod(
            PODS_NAMESPACE,
            client.V1Pod.model_validate(
                {
                    "metadata": {"name": name},
                    "spec": {
                        "schedulerName": scheduler,
                        "containers": [{"name": "app", "image": "registry.example/app:v1"}],
                    },
                }
            ),
        )

    def bound() -> dict[str, str] | None:
        placed = {}
        for name in names:
            pod = as_json(scenario.api, core.read_namespaced_pod(name, PODS_NAMESPACE))
            node = pod["spec"].get("nodeName")
            if not node:
                return None
            placed[name] = node
        return placed

    try:
        return wait_for(bound, what=f"{count} {prefix} pods bound", timeout=60.0)
    finally:
        for name in names:
            try:
                core.delete_namespaced_pod(name, PODS_NAMESPACE, grace_period_seconds=0)
            except ApiException as e:
                if e.status != 404:
                    raise


def _plugin(scenario: Scenario) -> dict[str, Any]:
    custom = client.CustomObjectsApi(scenario.api)
    plugin: dict[str, Any] = custom.get_cluster_custom_object(GROUP, VERSION, "wasmplugins", PLUGIN)
    return plugin


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next(c for c in conditions if c["type"] == type_)


def _config_map_exists(scenario: Scenario, name: str) -> bool:
    try:
        client.CoreV1Api(scenario.api).read_namespaced_config_map(name, NAMESPACE)
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    return True


QUARANTINED = pytest.mark.skip(
    reason="quarantined: fails in some full-suite runs (a revision ends Failed or is dropped as "
    "replaced); the wait prints every step's history; see docs/rollout.md, open in issue 7"
)


@QUARANTINED
def test_rollout_rolls_forward_and_back_with_the_real_scheduler(scenario: Scenario) -> None:
    # 1. the pod-digit rule: each pod lands on the node ending with its last digit.
    generation = _set_plugin_version(
        scenario, "registry.example/nodedigit:v1", "filter_node_name_suffix"
    )
    first = _roll_until(scenario, Step.SUCCEEDED)
    first_map = first.status.config_map_name
    assert first.status.active_revision == 1
    assert first_map is not None
    _only_revision_running(scenario, first_map)
    placed = _place_pods(scenario, "digit")
    assert {pod: node for pod, node in placed.items() if node[-1] != pod[-1]} == {}
    rolled = _condition(_plugin(scenario), "RolledOut")
    assert (rolled["status"], rolled["reason"], rolled["observedGeneration"]) == (
        "True",
        "RolledOut",
        generation,
    )
    assert _step(scenario).step == Step.IDLE

    # 2. the inverted rule rolls out; new pods avoid their digit's node; revision 1 is kept.
    _set_plugin_version(
        scenario, "registry.example/nodedigit:v2", "filter_node_name_suffix_inverted"
    )
    second = _roll_until(scenario, Step.SUCCEEDED)
    second_map = second.status.config_map_name
    assert second.status.active_revision == 2
    assert second_map is not None and second_map != first_map
    _only_revision_running(scenario, second_map)
    placed = _place_pods(scenario, "inverted")
    assert {pod: node for pod, node in placed.items() if node[-1] == pod[-1]} == {}
    assert _config_map_exists(scenario, first_map)
    outcomes = [(r.revision, r.outcome.value) for r in second.status.revisions]
    assert outcomes == [(1, "Superseded"), (2, "Active")]

    # 3. a module whose _start traps: the scheduler exits, the rollout fails and is undone.
    broken = _set_plugin_version(scenario, "registry.example/nodedigit:v3", "start_trap")
    failed = _roll_until(scenario, Step.ROLLED_BACK)
    assert failed.status.active_revision == 2
    assert failed.status.config_map_name == second_map
    assert "rolled back to revision 2" in failed.message
    rolled = _condition(_plugin(scenario), "RolledOut")
    assert (rolled["status"], rolled["reason"], rolled["observedGeneration"]) == (
        "False",
        "RolloutFailed",
        broken,
    )
    assert "revision 3" in rolled["message"]
    assert "wasm: instantiate error" in rolled["message"] or "_start" in rolled["message"], rolled[
        "message"
    ]
    # The failed plugin generation is pinned to what revision 2 runs: nothing new is rolled.
    settled = _roll_until(scenario, Step.IDLE)
    assert settled.status.config_map_name == second_map
    _only_revision_running(scenario, second_map)
    placed = _place_pods(scenario, "after-failure")
    assert {pod: node for pod, node in placed.items() if node[-1] == pod[-1]} == {}
    revisions = [(r["revision"], r["outcome"]) for r in _scheduler(scenario)["status"]["revisions"]]
    assert revisions == [(1, "Superseded"), (2, "Active"), (3, "Failed")]


def _scheduler(scenario: Scenario) -> dict[str, Any]:
    custom = client.CustomObjectsApi(scenario.api)
    obj: dict[str, Any] = custom.get_cluster_custom_object(
        GROUP, VERSION, "wasmschedulers", SCHEDULER
    )
    return obj


SCORE_LABEL = "wasmgate.dev/rollout-e2e-score"
NODE_SCORES = {kit_node_name(0): "10", kit_node_name(1): "50", kit_node_name(2): "90"}


@pytest.fixture
def scored_nodes(scenario: Scenario) -> Iterator[None]:
    core = client.CoreV1Api(scenario.api)
    for node, score in NODE_SCORES.items():
        core.patch_node(node, {"metadata": {"labels": {SCORE_LABEL: score}}})
    yield
    for node in NODE_SCORES:
        core.patch_node(node, {"metadata": {"labels": {SCORE_LABEL: None}}})


def test_two_plugins_in_one_scheduler_and_a_second_scheduler(
    scenario: Scenario, scored_nodes: None
) -> None:
    # "pair": a filter (avoid the pod's digit) and a score (prefer the highest label) together.
    _create_scheduler(scenario, "rollout-pair")
    _create_plugin(scenario, "pair-filter", "rollout-pair", guestConfig="not-pod-digit")
    _create_plugin(scenario, "pair-score", "rollout-pair", guestConfig=SCORE_LABEL, weight=10)
    # "solo": another scheduler with another plugin, rolled out at the same time.
    _create_scheduler(scenario, "rollout-solo")
    _create_plugin(scenario, "solo-filter", "rollout-solo", guestConfig="suffix=-0")
    for plugin, asset in (
        ("pair-filter", "filter_node_name_suffix"),
        ("pair-score", "score_node_label"),
        ("solo-filter", "filter_node_name_suffix"),
    ):
        _set_plugin_version(scenario, f"registry.example/{plugin}:v2", asset, plugin)

    pair = _roll_until(scenario, Step.SUCCEEDED, name="rollout-pair")
    solo = _roll_until(scenario, Step.SUCCEEDED, name="rollout-solo")
    assert [p.name for p in pair.status.plugins] == ["pair-filter", "pair-score"]
    assert [p.name for p in solo.status.plugins] == ["solo-filter"]
    assert pair.status.config_map_name is not None and solo.status.config_map_name is not None
    _only_revision_running(scenario, pair.status.config_map_name, "rollout-pair")
    _only_revision_running(scenario, solo.status.config_map_name, "rollout-solo")

    placed = _place_pods(scenario, "pair", "rollout-pair", count=6)
    best = {pod: kit_node_name(1) if pod[-1] == "2" else kit_node_name(2) for pod in placed}
    assert placed == best
    placed = _place_pods(scenario, "solo", "rollout-solo", count=6)
    assert set(placed.values()) == {kit_node_name(0)}


OPERATOR_STAND_IN = """
import sys, time
from kubernetes import client, config
from wasmgate.rollout.apply import plugins_for_scheduler, rollout_step
from wasmgate.rollout.settings import RolloutConfig

kubeconfig, name, namespace, staged = sys.argv[1:5]
api = config.new_client_from_config(config_file=kubeconfig)
custom = client.CustomObjectsApi(api)
settings = RolloutConfig(namespace=namespace, min_ready_seconds=int(sys.argv[5]))
while True:
    scheduler = custom.get_cluster_custom_object("wasmgate.dev", "v1alpha1", "wasmschedulers", name)
    plugins = custom.list_cluster_custom_object("wasmgate.dev", "v1alpha1", "wasmplugins")["items"]
    entries = plugins_for_scheduler(plugins, name)
    decision = rollout_step(api, scheduler, entries, staged.split(","), settings=settings)
    print(decision.step.value, decision.status.revisions[-1].revision, flush=True)
    time.sleep(1)
"""


@QUARANTINED
def test_an_operator_killed_mid_rollout_is_resumed_by_the_next_one(scenario: Scenario) -> None:
    name = "rollout-resume"
    _create_scheduler(scenario, name)
    _create_plugin(scenario, "resume-filter", name, guestConfig="suffix=-0")
    _set_plugin_version(
        scenario, "registry.example/resume:v1", "filter_node_name_suffix", "resume-filter"
    )
    rolled = _roll_until(scenario, Step.SUCCEEDED, name=name)
    before = [(r.revision, r.outcome.value) for r in rolled.status.revisions]
    assert before[-1][1] == "Active", before
    started = before[-1][0] + 1

    _set_plugin_version(
        scenario,
        "registry.example/resume:v2",
        "filter_node_name_suffix",
        "resume-filter",
        {"guestConfig": "suffix=-1"},
    )
    operator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            OPERATOR_STAND_IN,
            str(scenario.kit.kubeconfig),
            name,
            NAMESPACE,
            ",".join(scenario.layers.values()),
            str(SETTINGS.min_ready_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert operator.stdout is not None
        first = operator.stdout.readline().split()
    finally:
        operator.kill()  # SIGKILL: no clean-up, exactly between two steps of a rollout
        operator.wait(timeout=30)
        operator.stdout.close()
    assert first == ["Started", str(started)]

    # This process knows nothing but what the killed one wrote to status and the cluster.
    finished = _roll_until(scenario, Step.SUCCEEDED, name=name)
    assert [(r.revision, r.outcome.value) for r in finished.status.revisions] == [
        *((number, "Superseded") for number, _ in before),
        (started, "Active"),
    ]
    assert finished.status.config_map_name is not None
    _only_revision_running(scenario, finished.status.config_map_name, name)
    placed = _place_pods(scenario, "resumed", name, count=3)
    assert set(placed.values()) == {kit_node_name(1)}
