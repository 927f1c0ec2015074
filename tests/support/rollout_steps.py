"""The rollout machine driven step by step over plain data: a stand-in cluster that holds what
the apiserver would (ConfigMaps, the Deployment's state), for the machine's unit tests."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import yaml

from support.rollout_samples import digest
from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.decision import Decision, RolloutInputs, Step
from wasmgate.rollout.health import DeploymentObservation, PodObservation
from wasmgate.rollout.machine import decide
from wasmgate.rollout.plugins import PluginEntry
from wasmgate.rollout.settings import RolloutConfig

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Every layer the samples use is on every node unless a test says otherwise.
EVERY_LAYER = frozenset(digest(char) for char in "0123456789abcdef")


class Cluster:
    """What the apiserver would hold: ConfigMaps by name and the Deployment's state."""

    def __init__(self) -> None:
        self.config_maps: dict[str, dict[str, Any]] = {}
        self.deployment_config: str = ""

    def apply(self, decision: Decision) -> None:
        if decision.create_config_map is not None:
            name = decision.create_config_map["metadata"]["name"]
            self.config_maps[name] = decision.create_config_map
        if decision.apply_deployment is not None:
            annotations = decision.apply_deployment["metadata"]["annotations"]
            self.deployment_config = annotations["wasmgate.dev/config-map"]
        for name in decision.delete_config_maps:
            del self.config_maps[name]

    def configs(self) -> dict[str, dict[str, Any]]:
        return {
            name: yaml.safe_load(cm["data"]["config.yaml"]) for name, cm in self.config_maps.items()
        }

    def deployment(self, *, available: bool) -> DeploymentObservation:
        return DeploymentObservation(
            config_map_name=self.deployment_config,
            generation=2,
            observed_generation=2,
            replicas=1,
            updated_replicas=1,
            ready_replicas=1 if available else 0,
            available_replicas=1 if available else 0,
            total_replicas=1,
            deadline_exceeded=False,
        )


def with_status(ws: WasmScheduler, decision: Decision) -> WasmScheduler:
    return ws.model_copy(update={"status": decision.status})


def step(
    ws: WasmScheduler,
    cluster: Cluster,
    plugins: list[PluginEntry],
    *,
    now: datetime = T0,
    available: bool = False,
    pods: tuple[PodObservation, ...] = (),
    staged: frozenset[str] | None = None,
    settling: Collection[str] = (),
    settings: RolloutConfig | None = None,
) -> tuple[WasmScheduler, Decision]:
    decision = decide(
        RolloutInputs(
            scheduler=ws,
            plugins=plugins,
            staged=staged if staged is not None else EVERY_LAYER,
            revision_configs=cluster.configs(),
            deployment=cluster.deployment(available=available)
            if cluster.deployment_config
            else None,
            pods=pods,
            now=now,
            settings=settings or RolloutConfig(),
            settling=frozenset(settling),
        )
    )
    cluster.apply(decision)
    return with_status(ws, decision), decision


def roll(ws: WasmScheduler, cluster: Cluster, plugins: list[PluginEntry]) -> WasmScheduler:
    ws, started = step(ws, cluster, plugins)
    assert started.step == Step.STARTED
    ws, done = step(ws, cluster, plugins, available=True)
    assert done.step == Step.SUCCEEDED, done.message
    return ws


def crash(cluster: Cluster, message: str) -> PodObservation:
    return PodObservation(
        name="sched-abc",
        config_hash=cluster.deployment_config.rsplit("-", 1)[-1],
        ready=False,
        restarts=1,
        waiting_reason="CrashLoopBackOff",
        last_exit_code=1,
        last_message=message,
    )
