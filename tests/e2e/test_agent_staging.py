"""Node agents on the kit stage verified plugins, refuse unverified ones, cap, collect, re-check.

Three `wasmgate agent` processes (one per kwok node, each with its own store directory) run
against the kit's apiserver and registry. The operator is not needed: the tests write the
WasmPlugin status through the status subresource as the operator would.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from support.kit import KitHandle
from support.staging_kit import (
    WASMGATE,
    AgentProcess,
    Pushed,
    apply_crds,
    blob_path,
    cache_entry,
    condition,
    create_plugin,
    create_scheduler,
    custom,
    delete_if_present,
    final_files_match_names,
    module_bytes,
    node_cache,
    push_module,
    set_plugin_status,
    stage_plugin,
    verified_status,
    wait_entry_state,
)
from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmnodecache import WasmNodeCache
from wasmgate.api.wasmscheduler import WasmSchedulerSpec
from wasmgate.oci import Credential, Credentials
from wasmgate.staging.aggregate import aggregate_staging
from wasmgate.staging.targets import desired_nodes
from wasmgate_kit.nodes import kit_node_name
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

NODES = [kit_node_name(i) for i in range(3)]
LABEL = "wasmgate.dev/staging-e2e"
STORE_IN_POD = "var/lib/wasmgate/store"
MODULE_SIZE = 300_000


class Staging:
    """One test's scheduler, plugins and agents, cleaned up afterwards."""

    def __init__(self, kit: KitHandle, tmp_path: Path) -> None:
        self.kit = kit
        self.tmp = tmp_path
        self.api = kit.api_client()
        self.scheduler = f"staging-{uuid.uuid4().hex[:8]}"
        self.plugins: list[str] = []
        self.agents: list[AgentProcess] = []
        self.registry = kit.registries["oci"].host

    def root(self, node: str) -> Path:
        """The node's filesystem root; its store is at <root>/var/lib/wasmgate/store."""
        return self.tmp / node

    def store(self, node: str) -> Path:
        return self.root(node) / STORE_IN_POD

    def push(self, name: str, size: int = MODULE_SIZE) -> Pushed:
        return push_module(self.registry, f"staging/{name}", module_bytes(name, size), self.tmp)

    def plugin(self, name: str, pushed: Pushed, pull_secret: dict[str, str] | None = None) -> str:
        full = f"{self.scheduler}-{name}"
        stage_plugin(self.api, full, pushed, self.scheduler, pull_secret)
        self.plugins.append(full)
        return full

    def agent(self, node: str, *extra: str) -> AgentProcess:
        process = AgentProcess(
            node, self.store(node), self.kit.kubeconfig, self.registry, self.tmp, *extra
        ).start()
        self.agents.append(process)
        return process

    def close(self) -> None:
        for process in self.agents:
            process.stop()
        for name in self.plugins:
            delete_if_present(self.api, "wasmplugins", name)
        delete_if_present(self.api, "wasmschedulers", self.scheduler)
        self.api.close()


@pytest.fixture
def staging(kit: KitHandle, tmp_path: Path) -> Iterator[Staging]:
    apply_crds(kit.kubectl)
    for node in NODES:
        kit.kubectl("label", "node", node, f"{LABEL}=yes", "--overwrite")
    setup = Staging(kit, tmp_path)
    create_scheduler(setup.api, setup.scheduler, {LABEL: "yes"})
    try:
        yield setup
    finally:
        setup.close()


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _scheduler_config(path: Path, digests: list[str]) -> Path:
    document = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "profiles": [{"schedulerName": "wasmgate-scheduler", "pluginConfig": [
            {"name": f"p{i}", "args": {"guestURL": f"file:///{STORE_IN_POD}/sha256/"
                                                   f"{d.partition(':')[2]}"}}
            for i, d in enumerate(digests)]}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(document))
    return path


def _verify_store(config: Path, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WASMGATE), "verify-store", "--config", str(config), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_three_agents_stage_a_verified_plugin_and_the_operator_sees_3_of_3(
    staging: Staging,
) -> None:
    pushed = staging.push("three")
    staging.plugin("three", pushed)
    for node in NODES:
        staging.agent(node)
    for node in NODES:
        entry = wait_entry_state(staging.api, node, pushed.layer_digest, "Ready")
        assert entry["size"] == MODULE_SIZE and "verifiedAt" in entry
        stored = blob_path(staging.store(node), pushed.layer_digest)
        assert _sha256(stored) == pushed.layer_digest
        assert stored.read_bytes() == module_bytes("three", MODULE_SIZE)
    # The operator's side, on the same real objects: desired nodes and the Staged gate.
    nodes = json.loads(staging.kit.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    scheduler = custom(staging.api).get_cluster_custom_object(
        GROUP, VERSION, "wasmschedulers", staging.scheduler
    )
    desired = desired_nodes([WasmSchedulerSpec.model_validate(scheduler["spec"])], nodes)
    assert desired == NODES
    caches = [WasmNodeCache.model_validate(node_cache(staging.api, node)) for node in NODES]
    result = aggregate_staging(
        pushed.layer_digest, desired, caches, [], generation=1, now=datetime.now(UTC)
    )
    assert result.staging.summary == "3/3"
    assert (result.conditions[0].status, result.conditions[0].reason) == ("True", "AllNodesStaged")


def test_tampered_store_file_is_caught_by_verify_store_and_by_agent_start_up(
    staging: Staging,
) -> None:
    pushed = staging.push("tamper")
    staging.plugin("tamper", pushed)
    node = NODES[0]
    agent = staging.agent(node)
    wait_entry_state(staging.api, node, pushed.layer_digest, "Ready")
    config = _scheduler_config(staging.tmp / "config.yaml", [pushed.layer_digest])
    intact = _verify_store(config, staging.root(node))
    assert intact.returncode == 0, intact.stderr
    assert "verified 1 store files" in intact.stdout

    agent.stop()
    stored = blob_path(staging.store(node), pushed.layer_digest)
    tampered = bytearray(stored.read_bytes())
    tampered[100] ^= 0xFF
    stored.write_bytes(bytes(tampered))

    caught = _verify_store(config, staging.root(node))
    assert caught.returncode == 1
    assert "StoreFileTampered" in caught.stderr and stored.name in caught.stderr

    restarted = staging.agent(node)
    wait_for(
        lambda: stored.is_file() and _sha256(stored) == pushed.layer_digest,
        what="the tampered blob pulled again",
        timeout=60,
    )
    assert f"1 corrupt removed ['{pushed.layer_digest}']" in restarted.log_tail(200)
    assert _verify_store(config, staging.root(node)).returncode == 0


def test_a_digest_that_is_not_verified_is_never_staged_even_when_status_looks_staged(
    staging: Staging,
) -> None:
    good = staging.push("barrier")
    bad = staging.push("unverified")
    liar = staging.push("liar")
    # Looks finished (phase Ready, Staged 3/3) but Verified is False for this generation.
    fake = f"{staging.scheduler}-unverified"
    generation = create_plugin(staging.api, fake, bad, staging.scheduler)
    staging.plugins.append(fake)
    looks_staged = verified_status(bad, generation) | {
        "phase": "Ready",
        "staging": {"ready": 3, "desired": 3},
        "conditions": [
            condition("Verified", "False", generation, "SignatureUntrusted"),
            condition("Validated", "True", generation),
            condition("Staged", "True", generation),
            condition("Ready", "True", generation),
        ],
    }
    set_plugin_status(staging.api, fake, looks_staged)
    # Verified and Validated, but status.layerDigest names bytes the artifact does not hold.
    lying = f"{staging.scheduler}-liar"
    generation = create_plugin(staging.api, lying, liar, staging.scheduler)
    staging.plugins.append(lying)
    set_plugin_status(
        staging.api, lying, verified_status(liar, generation) | {"layerDigest": bad.layer_digest}
    )
    staging.plugin("barrier", good)
    for node in NODES:
        staging.agent(node)
    for node in NODES:
        wait_entry_state(staging.api, node, good.layer_digest, "Ready")
        failed = wait_entry_state(staging.api, node, bad.layer_digest, "Failed")
        assert failed["reason"] == "DigestMismatch"
        assert f"status.layerDigest is {bad.layer_digest}" in failed["lastError"]
        assert not blob_path(staging.store(node), bad.layer_digest).exists()
        assert not blob_path(staging.store(node), liar.layer_digest).exists()
        assert final_files_match_names(staging.store(node)) == []
    # The refusal is logged with its reason.
    assert f"plugin {fake} is not staged: condition Verified is not True" in (
        staging.agents[0].log_tail(400)
    )


def test_an_agent_whose_store_is_full_reports_the_reason(staging: Staging) -> None:
    pushed = staging.push("too-big")
    staging.plugin("too-big", pushed)
    node = NODES[1]
    staging.agent(node, "--capacity", str(MODULE_SIZE - 1))
    entry = wait_entry_state(staging.api, node, pushed.layer_digest, "Failed")
    assert entry["reason"] == "StoreFull"
    assert f"needs {MODULE_SIZE} bytes, 0 of {MODULE_SIZE - 1} are used" in entry["lastError"]
    cache = node_cache(staging.api, node)
    assert cache is not None and cache["status"]["capacityBytes"] == MODULE_SIZE - 1
    assert not blob_path(staging.store(node), pushed.layer_digest).exists()


def test_a_deleted_plugins_blob_is_collected_after_the_grace_period(staging: Staging) -> None:
    grace = 4.0
    pushed = staging.push("collected")
    name = staging.plugin("collected", pushed)
    node = NODES[2]
    staging.agent(node, "--gc-grace", str(grace))
    wait_entry_state(staging.api, node, pushed.layer_digest, "Ready")
    stored = blob_path(staging.store(node), pushed.layer_digest)
    delete_if_present(staging.api, "wasmplugins", name)
    wait_for(
        lambda: cache_entry(staging.api, node, pushed.layer_digest) is None,
        what="the entry dropped from the report",
        timeout=30,
    )
    assert stored.is_file(), "collected before the grace period"
    wait_for(lambda: not stored.exists(), what="the blob collected", timeout=grace + 30)
    wait_for(
        lambda: f"collected {pushed.layer_digest}" in staging.agents[0].log_tail(200),
        what="the collection logged",
        timeout=10,
    )


def test_a_deleted_nodes_wasmnodecache_goes_away(staging: Staging) -> None:
    node = f"agent-gc-{uuid.uuid4().hex[:6]}"
    staging.kit.add_node(node, {LABEL: "yes"})
    pushed = staging.push("node-gone")
    staging.plugin("node-gone", pushed)
    agent = staging.agent(node)
    wait_entry_state(staging.api, node, pushed.layer_digest, "Ready")
    cache = node_cache(staging.api, node)
    assert cache is not None and cache["metadata"]["ownerReferences"][0]["kind"] == "Node"
    agent.stop()  # a deleted node's DaemonSet pod is gone too
    staging.kit.kubectl("delete", "node", node)
    wait_for(
        lambda: node_cache(staging.api, node) is None,
        what=f"WasmNodeCache {node} garbage-collected",
        timeout=90,
    )


def _docker_config_secret(kit: KitHandle, namespace: str, name: str, registry: str) -> None:
    entry = kit.registries[registry]
    kit.kubectl("create", "namespace", namespace, check=False)
    kit.kubectl("delete", "secret", name, "-n", namespace, "--ignore-not-found")
    kit.kubectl(
        "create", "secret", "docker-registry", name, "-n", namespace,
        f"--docker-server={entry.host}", f"--docker-username={entry.username}",
        f"--docker-password={entry.password}",
    )  # fmt: skip


def test_registry_credentials_come_from_the_plugins_pull_secret_in_the_agent_namespace(
    staging: Staging,
) -> None:
    registry = staging.kit.registries["oci-auth"]
    assert registry.username and registry.password
    login = Credentials({registry.host: Credential(registry.username, registry.password)})
    private = push_module(
        registry.host, "staging/private", module_bytes("private", 4096), staging.tmp, login
    )
    _docker_config_secret(staging.kit, "wasmgate-system", "agent-e2e-pull", "oci-auth")
    _docker_config_secret(staging.kit, "default", "agent-e2e-pull", "oci-auth")
    name = staging.plugin(
        "private", private, {"name": "agent-e2e-pull", "namespace": "wasmgate-system"}
    )
    other = f"{staging.scheduler}-elsewhere"
    generation = create_plugin(staging.api, other, private, staging.scheduler,
                               {"name": "agent-e2e-pull", "namespace": "default"})  # fmt: skip
    staging.plugins.append(other)
    node = NODES[0]
    staging.agent(node, "--plain-http", registry.host)
    entry = wait_entry_state(staging.api, node, private.layer_digest, "Ready")
    assert entry["size"] == 4096
    assert _sha256(blob_path(staging.store(node), private.layer_digest)) == private.layer_digest
    # The same artifact through a Secret outside wasmgate-system is refused with the fix named.
    delete_if_present(staging.api, "wasmplugins", name)
    set_plugin_status(staging.api, other, verified_status(private, generation))
    staging.agents[0].stop()
    blob_path(staging.store(node), private.layer_digest).unlink()
    staging.agent(node, "--plain-http", registry.host)
    failed = wait_entry_state(staging.api, node, private.layer_digest, "Failed")
    assert failed["reason"] == "InvalidSpec"
    assert "Secret default/agent-e2e-pull is outside wasmgate-system" in failed["lastError"]
