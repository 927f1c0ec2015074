"""One rollout step of a WasmScheduler: gather what it reads, decide, carry out the decision.

`rollout_step()` is the entry point a scheduler pass (or a test, or a timer) calls, with the
cluster handed in as a `RolloutCluster`: gather, decide, execute, in that order, so calling it
again after a crash at any line converges on the same state. Compare, then write: a write is
skipped when the cluster already shows it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from wasmgate.api.conditions import dump_conditions
from wasmgate.api.wasmscheduler import RevisionOutcome, WasmScheduler
from wasmgate.rollout.compare import holds
from wasmgate.rollout.decision import Decision, RolloutInputs
from wasmgate.rollout.deps import NOTHING_KNOWN, Known, PluginLock, RolloutCluster, no_lock
from wasmgate.rollout.health import observe_deployment, observe_pod
from wasmgate.rollout.machine import decide, step_failed
from wasmgate.rollout.marks import carries, mark_plugin
from wasmgate.rollout.names import deployment_name, selector_labels
from wasmgate.rollout.plugins import PluginEntry
from wasmgate.rollout.settings import RolloutConfig


def gather(
    cluster: RolloutCluster,
    scheduler: WasmScheduler,
    plugins: Sequence[PluginEntry],
    staged: Iterable[str],
    *,
    now: datetime,
    settings: RolloutConfig,
    deployment_body: Mapping[str, Any] | None,
    settling: Collection[str] = (),
) -> RolloutInputs:
    """What `decide()` needs, read from the cluster (the Deployment read by the caller)."""
    deployment = observe_deployment(deployment_body) if deployment_body is not None else None
    revisions = scheduler.status.revisions if scheduler.status else []
    pods: list[dict[str, Any]] = []
    # Pods are judged only while a revision rolls out (health.judge); an idle pass skips them.
    if any(revision.outcome == RevisionOutcome.PROGRESSING for revision in revisions):
        selector = ",".join(f"{k}={v}" for k, v in selector_labels(scheduler).items())
        pods = cluster.list_pods(settings.namespace, selector)
    wanted = {
        revision.config_map_name
        for revision in revisions
        if revision.outcome in (RevisionOutcome.ACTIVE, RevisionOutcome.PROGRESSING)
    }
    configs = {name: cluster.read_config(name, settings.namespace) for name in sorted(wanted)}
    return RolloutInputs(
        scheduler=scheduler,
        plugins=list(plugins),
        staged=frozenset(staged),
        revision_configs={name: config for name, config in configs.items() if config is not None},
        deployment=deployment,
        pods=[observe_pod(pod) for pod in pods],
        now=now,
        settings=settings,
        settling=frozenset(settling),
    )


def execute(
    cluster: RolloutCluster,
    scheduler: WasmScheduler,
    decision: Decision,
    *,
    now: datetime,
    settings: RolloutConfig,
    hold: PluginLock = no_lock,
    deployment_body: Mapping[str, Any] | None = None,
    known: Known = NOTHING_KNOWN,
) -> None:
    """Perform a decision: ConfigMap, Deployment, history clean-up, status, plugin marks.

    Compare, then write: a write is skipped when the cluster already shows it (the Deployment
    as the caller read it, the scheduler's stored status, the plugins in `known`)."""
    if decision.create_config_map is not None:
        cluster.upsert(decision.create_config_map, exists=False)
    wanted = decision.apply_deployment
    if wanted is not None and not (deployment_body is not None and holds(deployment_body, wanted)):
        cluster.upsert(wanted, exists=deployment_body is not None)
    for name in decision.delete_config_maps:
        cluster.delete_config_map(name, settings.namespace)
    status = decision.status.to_json()
    if scheduler.status is None or scheduler.status.to_json() != status:
        cluster.write_scheduler_status(str(scheduler.metadata.name), status)
    for mark in decision.plugin_marks:
        seen = known.plugins.get(mark.name)
        if seen is not None and carries(seen, mark):
            continue
        with hold(mark.name):
            mark_plugin(cluster, mark, now, seen)


def rollout_step(
    cluster: RolloutCluster,
    scheduler: Mapping[str, Any],
    plugins: Sequence[PluginEntry],
    staged: Iterable[str],
    *,
    now: datetime | None = None,
    settings: RolloutConfig | None = None,
    hold: PluginLock = no_lock,
    known: Known = NOTHING_KNOWN,
    settling: Collection[str] = (),
) -> Decision:
    """One reconcile of a WasmScheduler (its JSON): gather, decide, apply; returns the decision.

    Call it on every WasmScheduler event and again after `decision.requeue_after` seconds.
    `settling` names the scheduler's plugins still in the pipeline (rollout.batching).
    """
    settings = settings or RolloutConfig()
    now = now or datetime.now(UTC)
    model = WasmScheduler.model_validate(scheduler)
    cluster.ensure_scheduler_identity(settings.namespace)
    body = cluster.read_deployment(deployment_name(model), settings.namespace)
    inputs = gather(
        cluster,
        model,
        plugins,
        staged,
        now=now,
        settings=settings,
        deployment_body=body,
        settling=settling,
    )
    decision = decide(inputs)
    execute(
        cluster,
        model,
        decision,
        now=now,
        settings=settings,
        hold=hold,
        deployment_body=body,
        known=known,
    )
    return decision


def report_failure(
    cluster: RolloutCluster, scheduler: Mapping[str, Any], message: str, now: datetime
) -> None:
    """Say in the WasmScheduler's status that a rollout step failed and is retried."""
    model = WasmScheduler.model_validate(scheduler)
    status = step_failed(model, message, now)
    if model.status is not None and model.status.to_json() == status.to_json():
        return
    conditions = {"conditions": dump_conditions(status.conditions)}
    cluster.write_scheduler_status(str(model.metadata.name), conditions)


__all__ = ["execute", "gather", "report_failure", "rollout_step"]
