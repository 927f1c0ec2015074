from __future__ import annotations

from typing import Any

import pytest
import yaml

from support.rollout_samples import entry, scheduler
from wasmgate.rollout.config import build_scheduler_config
from wasmgate.rollout.configmap import build_config_map
from wasmgate.rollout.deployment import build_deployment
from wasmgate.rollout.settings import RolloutConfig


def _config_map(**spec: Any) -> dict[str, Any]:
    ws = scheduler(**spec)
    return build_config_map(ws, build_scheduler_config(ws, [entry("a")]), revision=4)


def test_config_map_is_immutable_named_by_hash_and_labelled() -> None:
    config_map = _config_map()
    name = config_map["metadata"]["name"]
    labels = config_map["metadata"]["labels"]
    assert config_map["immutable"] is True
    assert name == f"wasmgate-scheduler-config-{labels['wasmgate.dev/config-hash']}"
    assert labels["wasmgate.dev/revision"] == "4"
    assert labels["wasmgate.dev/scheduler"] == "wasmgate-scheduler"
    assert yaml.safe_load(config_map["data"]["config.yaml"])["kind"] == (
        "KubeSchedulerConfiguration"
    )
    assert config_map["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_revision_number_does_not_change_the_name() -> None:
    ws = scheduler()
    config = build_scheduler_config(ws, [entry("a")])
    names = {build_config_map(ws, config, revision)["metadata"]["name"] for revision in (1, 9)}
    assert len(names) == 1


def _deployment(**spec: Any) -> dict[str, Any]:
    return build_deployment(scheduler(**spec), "wasmgate-scheduler-config-0123456789abcdef")


def _pod(**spec: Any) -> dict[str, Any]:
    pod: dict[str, Any] = _deployment(**spec)["spec"]["template"]
    return pod


def test_deployment_runs_the_image_with_the_config_map() -> None:
    deployment = _deployment(replicas=3, rollout={"progressDeadlineSeconds": 120})
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["progressDeadlineSeconds"] == 120
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert container["image"] == "registry.example/wasm-scheduler:v1"
    # Upstream's scheduler/Dockerfile installs the binary here; the image has no kube-scheduler.
    assert container["command"] == ["/kube-scheduler-wasm-extension"]
    assert "--config=/etc/wasmgate/scheduler/config.yaml" in container["args"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "wasmgate-scheduler-config-0123456789abcdef"
    assert pod["metadata"]["labels"]["wasmgate.dev/config-hash"] == "0123456789abcdef"
    assert pod["spec"]["serviceAccountName"] == "wasmgate-scheduler"


def test_store_is_mounted_read_only_and_verified_first() -> None:
    spec = _pod()["spec"]
    [init] = spec["initContainers"]
    [container] = spec["containers"]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert volumes["store"]["hostPath"] == {"path": "/var/lib/wasmgate/store", "type": "Directory"}
    assert init["command"] == [
        "wasmgate",
        "verify-store",
        "--config",
        "/etc/wasmgate/scheduler/config.yaml",
    ]
    for item in (init, container):
        store = next(m for m in item["volumeMounts"] if m["name"] == "store")
        assert (store["mountPath"], store["readOnly"]) == ("/var/lib/wasmgate/store", True)


@pytest.mark.parametrize("container", ["initContainers", "containers"])
def test_every_container_is_locked_down(container: str) -> None:
    [item] = _pod()["spec"][container]
    assert item["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_placement_comes_from_the_spec() -> None:
    spec = _pod(
        nodeSelector={"node-role.kubernetes.io/control-plane": ""},
        tolerations=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    )["spec"]
    assert spec["nodeSelector"] == {"node-role.kubernetes.io/control-plane": ""}
    assert spec["tolerations"] == [
        {
            "key": "node-role.kubernetes.io/control-plane",
            "operator": "Equal",
            "effect": "NoSchedule",
        }
    ]
    assert "nodeSelector" not in _pod()["spec"]


def test_settings_move_namespace_and_store() -> None:
    settings = RolloutConfig(namespace="sched", store_root="/srv/store")
    ws = scheduler()
    config = build_scheduler_config(ws, [entry("a")], settings)
    config_map = build_config_map(ws, config, revision=1, settings=settings)
    deployment = build_deployment(ws, config_map["metadata"]["name"], settings)
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {
        (c["name"], m["mountPath"], m["readOnly"])
        for c in (*pod["initContainers"], *pod["containers"])
        for m in c["volumeMounts"]
        if m["name"] == "store"
    }
    assert deployment["metadata"]["namespace"] == config_map["metadata"]["namespace"] == "sched"
    assert config["leaderElection"]["resourceNamespace"] == "sched"
    assert volumes["store"]["hostPath"]["path"] == "/srv/store"
    assert mounts == {("verify-store", "/srv/store", True), ("scheduler", "/srv/store", True)}
    [plugin] = config["profiles"][0]["pluginConfig"]
    assert plugin["args"]["guestURL"] == "file:///srv/store/sha256/" + "a" * 64
    assert "/var/lib/wasmgate" not in yaml.safe_dump([config_map, deployment])


def test_long_names_are_shortened_stably() -> None:
    long = scheduler()
    long = long.model_copy(
        update={"metadata": long.metadata.model_copy(update={"name": "s" * 200})}
    )
    first = build_deployment(long, "c")["metadata"]["name"]
    assert len(first) <= 40
    assert first == build_deployment(long, "c")["metadata"]["name"]
