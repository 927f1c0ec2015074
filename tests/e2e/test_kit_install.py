"""wasmgate installed the documented way, `kubectl apply -k` of deploy/, running as real pods.

This module has a kit of its own with a real node and no kit kubelet: the images are built here
(the Containerfile, upstream's scheduler), pushed to a kit registry and pulled by containerd; the
kit's overlay of deploy/ changes only image names, the registries' plain-HTTP hosts and the node
the pods run on (kit/install.py). Then everything runs as a cluster operator's would: two
operator replicas (leader election, webhook), the agent DaemonSet with its hostPath store, and a
WasmScheduler whose Deployment runs upstream's scheduler behind the verify-store init container,
loading file:// from the store the agent wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from support.kit import KitHandle
from support.operator import apply, key_secret
from support.pod_placement import digit_names, digit_rule_broken, place_pods
from support.registries import LocalRegistry
from support.signing import SigningKey, make_key, push_signed
from support.wasm_assets import with_custom_section
from wasmgate_kit.build import build_all
from wasmgate_kit.install import (
    AGENT,
    NAMESPACE,
    OPERATOR,
    SCHEDULER,
    KitInstall,
    install_wasmgate,
    registries_for_pods,
)
from wasmgate_kit.kit import Kit
from wasmgate_kit.real_node import NODE_NAME, RealNode
from wasmgate_kit.real_schedulers import IMAGE_REGISTRY
from wasmgate_kit.wait import wait_for

GROUP, VERSION = "wasmgate.dev", "v1alpha1"
KWOK_NODES = 3
Body = dict[str, Any]


@dataclass
class Installed:
    kit: KitHandle
    node: RealNode
    install: KitInstall
    registry: LocalRegistry
    """The kit registry as the pods (and the host) reach it: at the node's address."""
    key: SigningKey
    work: Path

    @property
    def api(self) -> client.ApiClient:
        return self.kit.api_client()

    def kubectl(self, *args: str) -> str:
        return self.kit.kubectl(*args).stdout

    def get(self, plural: str, name: str) -> Body:
        body: Body = json.loads(self.kubectl("get", plural, name, "-o", "json"))
        return body

    def pods(self, selector: str) -> list[Body]:
        listed = self.kubectl("get", "pods", "-n", NAMESPACE, "-l", selector, "-o", "json")
        items: list[Body] = json.loads(listed)["items"]
        return items

    def publish(self, name: str, tag: str, data: bytes) -> str:
        module = self.work / f"{name}-{tag}.wasm"
        module.write_bytes(data)
        image = f"{self.registry.host}/install-e2e/{name}:{tag}"
        cosign = self.kit.bin("cosign")
        return push_signed(cosign, self.registry, module, image, self.key, self.work)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    build_all()
    kit = Kit(state_dir=tmp_path_factory.mktemp("install-kit"), nodes=KWOK_NODES, real_node=True)
    kit.start()
    try:
        assert kit.node is not None
        install = install_wasmgate(kit)
        handle = KitHandle(kit)
        work = tmp_path_factory.mktemp("install-work")
        oci = LocalRegistry.from_kit(kit.registries[IMAGE_REGISTRY])
        registry = replace(oci, host=registries_for_pods(kit)[IMAGE_REGISTRY])
        key = make_key(kit.binary("cosign"), "p256", work / "key")
        key_secret(handle, NAMESPACE, "install-e2e-key", key.public)
        yield Installed(handle, kit.node, install, registry, key, work)
    finally:
        kit.stop()


def _ready(pod: Body) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_the_operator_and_agents_run_as_pods_of_the_image_built_here(
    installed: Installed,
) -> None:
    operators = installed.pods(f"app.kubernetes.io/name={OPERATOR}")
    assert len(operators) == 2 and all(_ready(p) for p in operators), operators
    agents = installed.pods(f"app.kubernetes.io/name={AGENT}")
    assert len(agents) == 1 and _ready(agents[0]), agents
    for pod in [*operators, *agents]:
        assert pod["spec"]["nodeName"] == NODE_NAME
        container = pod["spec"]["containers"][0]
        assert container["image"] == installed.install.wasmgate_image
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        status = pod["status"]["containerStatuses"][0]
        assert status["ready"] and status["restartCount"] == 0, status


# What the container may write: its volumes, nothing else (the manifests' readOnlyRootFilesystem
# is enforced by the runtime, so a process that needed the root filesystem would have crashed).
WRITE_PROBE = """
import os
for path in ("/probe", "/opt/wasmgate/probe", "/tmp/probe"):
    try:
        open(path, "w").close()
        print(path, "writable")
    except OSError as e:
        print(path, e.strerror)
print("uid", os.getuid(), "gid", os.getgid())
"""


@pytest.mark.parametrize("component", [OPERATOR, AGENT])
def test_the_root_filesystem_is_read_only_and_the_user_is_not_root(
    installed: Installed, component: str
) -> None:
    pod = installed.pods(f"app.kubernetes.io/name={component}")[0]
    out = installed.kubectl("exec", "-n", NAMESPACE, pod["metadata"]["name"], "--",
                            "/opt/wasmgate/bin/python", "-c", WRITE_PROBE)  # fmt: skip
    assert "/probe Read-only file system" in out, out
    assert "/opt/wasmgate/probe Read-only file system" in out, out
    assert "/tmp/probe writable" in out, out
    assert "uid 65532 gid 65532" in out, out


def test_the_webhook_served_by_the_operator_pods_refuses_a_bad_plugin(
    installed: Installed,
) -> None:
    document = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmPlugin",
        "metadata": {"name": "install-e2e-refused"},
        "spec": {"source": {"image": f"{installed.registry.host}/x/y:v1"},
                 "verify": {"keys": [{"secretRef": {"namespace": NAMESPACE,
                                                    "name": "no-such-secret"}}]},
                 "scheduler": {"schedulers": ["no-such-scheduler"]}},
    }  # fmt: skip
    result = installed.kit.run("kubectl", "apply", "--dry-run=server", "-f", "-",
                               input_text=json.dumps(document), check=False)  # fmt: skip
    assert result.returncode != 0
    assert "admission webhook" in result.stderr and "wasmgate" in result.stderr, result.stderr


def _plugin(installed: Installed, name: str, image: str) -> int:
    apply(installed.kit, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": {
            "source": {"image": image},
            "verify": {"keys": [{"secretRef": {"namespace": NAMESPACE,
                                               "name": "install-e2e-key"}}]},
            "scheduler": {"schedulers": [SCHEDULER]},
        },
    })  # fmt: skip
    return int(installed.get("wasmplugins", name)["metadata"]["generation"])


def _rolled_out(installed: Installed, name: str, generation: int) -> Callable[[], Body | None]:
    def probe() -> Body | None:
        body = installed.get("wasmplugins", name)
        status = body.get("status") or {}
        if status.get("phase") == "Failed":
            raise AssertionError(json.dumps(status.get("conditions"), indent=1))
        done = status.get("phase") == "Ready" and status.get("observedGeneration") == generation
        return body if done else None

    return probe


def _scheduler_pods(installed: Installed) -> list[Body]:
    return installed.pods("wasmgate.dev/component=scheduler")


def _place(installed: Installed, prefix: str) -> dict[str, str]:
    names = digit_names(prefix, 6, KWOK_NODES)
    return place_pods(installed.api, SCHEDULER, names, timeout=90)


def _signal(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        os.kill(pid, signum)


def test_a_signed_plugin_rolls_out_to_upstreams_scheduler_pod_then_a_broken_one_rolls_back(
    installed: Installed, wasm_assets: dict[str, Path]
) -> None:
    assets = wasm_assets
    plugin = "install-e2e-digit"
    v1 = installed.publish(plugin, "v1", assets["filter_node_name_suffix"].read_bytes())
    generation = _plugin(installed, plugin, v1)
    wait_for(_rolled_out(installed, plugin, generation), what=f"{plugin} Ready", timeout=240)

    # The scheduler pod is upstream's image, behind verify-store from the operator's own image.
    running = [p for p in _scheduler_pods(installed) if _ready(p)]
    assert running, _scheduler_pods(installed)
    for pod in running:
        assert pod["spec"]["nodeName"] == NODE_NAME
        assert pod["spec"]["containers"][0]["image"] == installed.install.scheduler_image
        init = pod["spec"]["initContainers"][0]
        assert init["image"] == installed.install.wasmgate_image, "verify-store is the operator's"
    layer = installed.get("wasmschedulers", SCHEDULER)["status"]["revisions"][-1]["plugins"][0][
        "layerDigest"
    ]
    store = installed.node.var_lib_wasmgate / "store" / "sha256"
    assert (store / layer.removeprefix("sha256:")).is_file()
    assert digit_rule_broken(_place(installed, "digit")) == {}
    active = installed.get("wasmschedulers", SCHEDULER)["status"]["activeRevision"]

    # A version whose blob vanishes from the node store before its scheduler pod starts: the
    # kubelet is paused while the Deployment rolls, the agent too while the blob is deleted.
    # verify-store refuses to start the scheduler, the rollout fails, the old revision stays.
    broken = with_custom_section(assets["filter_node_name_suffix"].read_bytes(), "v2")
    v2 = installed.publish(plugin, "v2", broken)
    kubelet = installed.node.kubelet
    assert kubelet is not None and kubelet.pid is not None
    os.kill(kubelet.pid, signal.SIGSTOP)
    agents: list[int] = []
    try:
        generation = _plugin(installed, plugin, v2)

        def progressing() -> str | None:
            latest = installed.get("wasmschedulers", SCHEDULER)["status"]["revisions"][-1]
            if latest["outcome"] != "Progressing":
                return None
            return str(latest["plugins"][0]["layerDigest"])

        broken_layer = wait_for(progressing, what="the broken revision progressing", timeout=180)
        agents = installed.node.pod_processes("agent")
        assert agents, "the agent pod's process"
        _signal(agents, signal.SIGSTOP)
        (store / broken_layer.removeprefix("sha256:")).unlink()
    finally:
        os.kill(kubelet.pid, signal.SIGCONT)

    def rollout_failed() -> Body | None:
        body = installed.get("wasmplugins", plugin)
        rolled = next(c for c in body["status"]["conditions"] if c["type"] == "RolledOut")
        failed = rolled["observedGeneration"] == generation and rolled["status"] == "False"
        return rolled if failed else None

    try:
        rolled = wait_for(rollout_failed, what="RolloutFailed", timeout=300)
    finally:
        _signal(agents, signal.SIGCONT)
    assert rolled["reason"] == "RolloutFailed", rolled
    after = installed.get("wasmschedulers", SCHEDULER)
    assert after["status"]["activeRevision"] == active
    assert after["status"]["revisions"][-1]["outcome"] == "Failed"
    assert digit_rule_broken(_place(installed, "after-failure")) == {}


def test_kubectl_get_pods_shows_every_component_on_the_real_node(installed: Installed) -> None:
    out = installed.kubectl("get", "pods", "-A", "-o", "wide")
    for name in (OPERATOR, AGENT, SCHEDULER):
        assert name in out, out
    result = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert "wasmgate_kit.kubelet" not in result.stdout, "no Python process plays kubelet"
