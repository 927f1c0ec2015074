"""The rollout state machine: one pure step from what the cluster shows to what to do next.

All state lives in WasmScheduler.status (the revision history), so the operator may die at any
point and the next step, from any process, picks up where the last one stopped. A step never
performs I/O: `decide()` returns the objects to create, the Deployment to apply, the ConfigMaps to
delete, the new status and the conditions to set on plugins; `wasmgate.rollout.apply` carries
them out.

States of the newest revision, and the moves between them:
- none Progressing, desired config is the active one   -> Idle
- desired config differs, a layer not on every node     -> WaitingForStaging
- desired config differs, every layer staged            -> Started (revision Progressing)
- Progressing, Deployment on its way                    -> Progressing
- Progressing, new pods available                       -> Succeeded (Active, old Superseded)
- Progressing, crash loop or deadline                   -> RolledBack (or Failed)
- Progressing, desired config changed meanwhile         -> Superseded, then Started
A plugin whose change failed is pinned to what the active revision ran until its generation
changes, so a bad plugin never blocks the others and is never retried as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from wasmgate.api.condition import Condition, ConditionStatus
from wasmgate.api.conditions import SchedulerCondition, set_condition
from wasmgate.api.wasmscheduler import (
    RevisionOutcome,
    SchedulerRevision,
    WasmScheduler,
    WasmSchedulerStatus,
)
from wasmgate.errors import RolloutFailed
from wasmgate.rollout.config import build_scheduler_config
from wasmgate.rollout.configmap import build_config_map
from wasmgate.rollout.deployment import build_deployment, config_hash_of
from wasmgate.rollout.health import DeploymentObservation, PodObservation, Verdict, judge
from wasmgate.rollout.history import (
    latest,
    next_revision_number,
    prune,
    supersede_active,
    with_outcome,
)
from wasmgate.rollout.limit import LIMIT_EXCEEDED, choose, plugin_message, scheduler_message
from wasmgate.rollout.plugins import PluginEntry, entries_from_config
from wasmgate.rollout.settings import RolloutConfig

POLL_SECONDS = 2.0
STAGING_POLL_SECONDS = 5.0
ROLLING_OUT = "RollingOut"
WAITING_FOR_STAGING = "WaitingForStaging"
ROLLED_OUT = "RolledOut"
RENDERED = "Rendered"
STEP_FAILED = "RolloutStepFailed"


class Step(StrEnum):
    """What a step found and did."""

    IDLE = "Idle"
    WAITING_FOR_STAGING = "WaitingForStaging"
    STARTED = "Started"
    PROGRESSING = "Progressing"
    SUCCEEDED = "Succeeded"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"
    BLOCKED = "Blocked"


@dataclass(frozen=True)
class PluginMark:
    """A RolledOut condition to set on one WasmPlugin, for the generation it describes."""

    name: str
    generation: int | None
    status: ConditionStatus
    reason: str
    message: str


@dataclass(frozen=True)
class RolloutInputs:
    """Everything one step reads; the applier gathers it from the apiserver."""

    scheduler: WasmScheduler
    plugins: Sequence[PluginEntry]
    """Plugins validated for this scheduler, current spec generation, staged or not."""
    staged: frozenset[str]
    """Layer digests every desired node holds."""
    revision_configs: Mapping[str, Mapping[str, Any]]
    """Parsed configurations of the active and progressing revisions, by ConfigMap name."""
    deployment: DeploymentObservation | None
    pods: Sequence[PodObservation]
    now: datetime
    settings: RolloutConfig = field(default_factory=RolloutConfig)


@dataclass(frozen=True)
class Decision:
    """What to do: the applier performs it in field order."""

    step: Step
    status: WasmSchedulerStatus
    create_config_map: dict[str, Any] | None = None
    apply_deployment: dict[str, Any] | None = None
    delete_config_maps: tuple[str, ...] = ()
    plugin_marks: tuple[PluginMark, ...] = ()
    requeue_after: float | None = None
    message: str = ""


@dataclass
class _Step:
    """The status being rewritten by one step."""

    inputs: RolloutInputs
    revisions: list[SchedulerRevision]
    conditions: list[Condition]
    left_out: frozenset[str] = frozenset()
    """Plugins over the scheduler's limit (wasmgate.rollout.limit): never marked as loaded."""

    def loaded_now(self) -> list[PluginEntry]:
        """The plugins a configuration of this step runs as their current spec."""
        return [
            entry
            for entry in self.inputs.plugins
            if not entry.blocked and entry.name not in self.left_out
        ]

    @property
    def generation(self) -> int | None:
        return self.inputs.scheduler.metadata.generation

    def condition(self, type_: str, status: ConditionStatus, reason: str, message: str) -> None:
        self.conditions = set_condition(
            self.conditions,
            type_=type_,
            status=status,
            reason=reason,
            message=message,
            observed_generation=self.generation,
            now=self.inputs.now,
        )


def _active_entries(inputs: RolloutInputs, active: SchedulerRevision | None) -> dict[str, Any]:
    if active is None or active.config_map_name not in inputs.revision_configs:
        return {}
    return entries_from_config(inputs.revision_configs[active.config_map_name], active.plugins)


def desired_entries(
    plugins: Sequence[PluginEntry], active: Mapping[str, PluginEntry]
) -> list[PluginEntry]:
    """The plugins the next configuration loads: blocked ones as the active revision runs them,
    unless the live bytes themselves lost their Verified or Validated verdict."""
    chosen: list[PluginEntry] = []
    for plugin in plugins:
        live = active.get(plugin.name)
        if not plugin.blocked:
            chosen.append(plugin)
        elif live is not None and not (
            plugin.distrusted and live.layer_digest == plugin.layer_digest
        ):
            chosen.append(live)
    return sorted(chosen, key=lambda entry: entry.name)


def changed_plugins(
    entries: Sequence[PluginEntry], active: Mapping[str, PluginEntry]
) -> list[PluginEntry]:
    """Entries the scheduler would load differently from the active revision (or newly)."""
    return [
        entry
        for entry in entries
        if entry.name not in active or not entry.same_config(active[entry.name])
    ]


def _finish(
    step: _Step,
    kind: Step,
    *,
    active: SchedulerRevision | None,
    deployment: DeploymentObservation | None,
    **rest: Any,
) -> Decision:
    kept, dropped = prune(step.revisions, step.inputs.scheduler.spec.rollout.revision_history_limit)
    ready = deployment.ready_replicas if deployment else 0
    available = deployment is not None and deployment.available_replicas > 0
    step.condition(
        SchedulerCondition.AVAILABLE,
        ConditionStatus.TRUE if available else ConditionStatus.FALSE,
        "MinimumReplicasAvailable" if available else "NoSchedulerAvailable",
        f"{ready} scheduler pods ready",
    )
    rolled = next(c for c in step.conditions if c.type == SchedulerCondition.ROLLED_OUT)
    both = available and rolled.status == ConditionStatus.TRUE
    step.condition(
        SchedulerCondition.READY,
        ConditionStatus.TRUE if both else rolled.status,
        "RolledOutAndAvailable" if both else rolled.reason,
        rolled.message,
    )
    status = WasmSchedulerStatus(
        observed_generation=step.generation,
        active_revision=active.revision if active else None,
        config_map_name=active.config_map_name if active else None,
        plugins=list(active.plugins) if active else [],
        ready_replicas=ready,
        revisions=kept,
        conditions=step.conditions,
    )
    return Decision(step=kind, status=status, delete_config_maps=tuple(dropped), **rest)


def _loaded_by(step: _Step) -> str:
    # Names the scheduler, not the revision's ConfigMap: with the ConfigMap, every new revision
    # rewrote the RolledOut condition of every plugin it kept (writes grew with plugins times
    # revisions); the revision is in the WasmScheduler's status.
    return f"loaded by WasmScheduler {step.inputs.scheduler.metadata.name}"


def _rolling_on(step: _Step) -> str:
    # Without the revision, for the same reason as _loaded_by: a revision superseded while it
    # rolled would otherwise rewrite the mark of every plugin it carried.
    return f"rolling out on WasmScheduler {step.inputs.scheduler.metadata.name}"


def _marks(
    entries: Sequence[PluginEntry], status: ConditionStatus, reason: str, message: str
) -> tuple[PluginMark, ...]:
    return tuple(
        PluginMark(entry.name, entry.generation, status, reason, message) for entry in entries
    )


def decide(inputs: RolloutInputs) -> Decision:
    """One step of the rollout of `inputs.scheduler` (see the module docstring)."""
    scheduler = inputs.scheduler
    previous = scheduler.status or WasmSchedulerStatus()
    step = _Step(inputs, list(previous.revisions), list(previous.conditions))
    active = latest(step.revisions, RevisionOutcome.ACTIVE)
    active_entries = _active_entries(inputs, active)
    choice = choose(desired_entries(inputs.plugins, active_entries), active_entries)
    step.left_out = frozenset(entry.name for entry in choice.left_out)
    name = str(scheduler.metadata.name)
    rendered = (
        (ConditionStatus.FALSE, LIMIT_EXCEEDED, scheduler_message(name, choice))
        if choice.left_out
        else None
    )
    decision = _decide(step, active, active_entries, choice.loaded, rendered)
    # Every step repeats the marks: a plugin left out stays told so, whatever the rollout does.
    marks = _marks(choice.left_out, ConditionStatus.FALSE, LIMIT_EXCEEDED, plugin_message(name))
    return replace(decision, plugin_marks=decision.plugin_marks + marks)


def _decide(
    step: _Step,
    active: SchedulerRevision | None,
    active_entries: Mapping[str, PluginEntry],
    entries: list[PluginEntry],
    rendered: tuple[ConditionStatus, str, str] | None,
) -> Decision:
    inputs = step.inputs
    scheduler, settings = inputs.scheduler, inputs.settings
    progressing = latest(step.revisions, RevisionOutcome.PROGRESSING)
    config = build_scheduler_config(scheduler, entries, settings)
    number = next_revision_number(step.revisions)
    config_map = build_config_map(scheduler, config, number, settings)
    name: str = config_map["metadata"]["name"]
    status, reason, message = rendered or (
        ConditionStatus.TRUE,
        RENDERED,
        f"{name} loads {len(entries)} plugins",
    )
    step.condition(SchedulerCondition.CONFIG_RENDERED, status, reason, message)

    def deploy(config_map_name: str) -> dict[str, Any]:
        return build_deployment(scheduler, config_map_name, settings)

    if progressing is not None and progressing.config_map_name == name:
        return _watch(step, progressing, active, active_entries, entries, deploy)
    if progressing is not None:
        step.revisions = with_outcome(
            step.revisions,
            progressing.revision,
            RevisionOutcome.SUPERSEDED,
            "replaced by a newer configuration before it finished rolling out",
        )

    keep_running = deploy(active.config_map_name) if active else None
    if active is not None and active.config_map_name == name:
        step.condition(
            SchedulerCondition.ROLLED_OUT,
            ConditionStatus.TRUE,
            ROLLED_OUT,
            f"revision {active.revision} ({name}) is running",
        )
        current = step.loaded_now()
        return _finish(
            step,
            Step.IDLE,
            active=active,
            deployment=inputs.deployment,
            apply_deployment=keep_running,
            plugin_marks=_marks(current, ConditionStatus.TRUE, ROLLED_OUT, _loaded_by(step)),
        )
    failed_before = next(
        (
            revision
            for revision in step.revisions
            if revision.outcome == RevisionOutcome.FAILED and revision.config_map_name == name
        ),
        None,
    )
    if failed_before is not None:
        message = (
            f"configuration {name} failed as revision {failed_before.revision}; it is not "
            f"retried until a plugin or the scheduler changes: {failed_before.message}"
        )
        step.condition(
            SchedulerCondition.ROLLED_OUT, ConditionStatus.FALSE, RolloutFailed.reason, message
        )
        return _finish(
            step,
            Step.BLOCKED,
            active=active,
            deployment=inputs.deployment,
            apply_deployment=keep_running,
            message=message,
        )
    missing = sorted({entry.layer_digest for entry in entries} - inputs.staged)
    if missing:
        message = f"waiting until every scheduler node holds {', '.join(missing)}"
        step.condition(
            SchedulerCondition.ROLLED_OUT, ConditionStatus.UNKNOWN, WAITING_FOR_STAGING, message
        )
        return _finish(
            step,
            Step.WAITING_FOR_STAGING,
            active=active,
            deployment=inputs.deployment,
            apply_deployment=keep_running,
            requeue_after=STAGING_POLL_SECONDS,
            message=message,
        )
    revision = SchedulerRevision(
        revision=number,
        config_map_name=name,
        plugins=[entry.as_status() for entry in entries],
        created_at=inputs.now,
        outcome=RevisionOutcome.PROGRESSING,
    )
    step.revisions.append(revision)
    message = f"rolling out revision {number} ({name})"
    step.condition(SchedulerCondition.ROLLED_OUT, ConditionStatus.UNKNOWN, ROLLING_OUT, message)
    changed = changed_plugins(entries, active_entries)
    return _finish(
        step,
        Step.STARTED,
        active=active,
        deployment=inputs.deployment,
        create_config_map=config_map,
        apply_deployment=deploy(name),
        plugin_marks=_marks(changed, ConditionStatus.UNKNOWN, ROLLING_OUT, _rolling_on(step)),
        requeue_after=POLL_SECONDS,
        message=message,
    )


def _watch(
    step: _Step,
    progressing: SchedulerRevision,
    active: SchedulerRevision | None,
    active_entries: Mapping[str, PluginEntry],
    entries: Sequence[PluginEntry],
    deploy: Any,
) -> Decision:
    """The Progressing revision is still the one wanted: judge how the Deployment is doing."""
    inputs = step.inputs
    rollout = inputs.scheduler.spec.rollout
    name = progressing.config_map_name
    health = judge(
        inputs.deployment,
        inputs.pods,
        config_map_name=name,
        config_hash=config_hash_of(name),
        started_at=progressing.created_at,
        now=inputs.now,
        deadline_seconds=rollout.progress_deadline_seconds,
        settings=inputs.settings,
    )
    if health.verdict == Verdict.PROGRESSING:
        message = f"rolling out revision {progressing.revision} ({name}): {health.message}"
        step.condition(SchedulerCondition.ROLLED_OUT, ConditionStatus.UNKNOWN, ROLLING_OUT, message)
        return _finish(
            step,
            Step.PROGRESSING,
            active=active,
            deployment=inputs.deployment,
            apply_deployment=deploy(name),
            requeue_after=POLL_SECONDS,
            message=message,
        )
    if health.verdict == Verdict.SUCCEEDED:
        step.revisions = supersede_active(
            with_outcome(step.revisions, progressing.revision, RevisionOutcome.ACTIVE),
            keep=progressing.revision,
        )
        now_active = latest(step.revisions, RevisionOutcome.ACTIVE)
        message = f"revision {progressing.revision} ({name}) is running: {health.message}"
        step.condition(SchedulerCondition.ROLLED_OUT, ConditionStatus.TRUE, ROLLED_OUT, message)
        current = step.loaded_now()
        return _finish(
            step,
            Step.SUCCEEDED,
            active=now_active,
            deployment=inputs.deployment,
            apply_deployment=deploy(name),
            plugin_marks=_marks(current, ConditionStatus.TRUE, ROLLED_OUT, _loaded_by(step)),
            message=message,
        )
    changed = changed_plugins(entries, active_entries)
    culprits = ", ".join(entry.name for entry in changed) or "none (scheduler settings)"
    failure = f"revision {progressing.revision} ({name}) failed: {health.message}"
    step.revisions = with_outcome(
        step.revisions,
        progressing.revision,
        RevisionOutcome.FAILED,
        f"{failure}; changed: {culprits}",
    )
    rollback = rollout.automatic_rollback and active is not None
    if rollback and active is not None:
        outcome = f"{failure}; rolled back to revision {active.revision} ({active.config_map_name})"
        target: dict[str, Any] | None = deploy(active.config_map_name)
    else:
        outcome = f"{failure}; no rollback ({'disabled' if active else 'no earlier revision'})"
        target = None
    step.condition(
        SchedulerCondition.ROLLED_OUT, ConditionStatus.FALSE, RolloutFailed.reason, outcome
    )
    return _finish(
        step,
        Step.ROLLED_BACK if rollback else Step.FAILED,
        active=active,
        deployment=inputs.deployment,
        apply_deployment=target,
        plugin_marks=_marks(changed, ConditionStatus.FALSE, RolloutFailed.reason, outcome),
        message=outcome,
    )


def step_failed(scheduler: WasmScheduler, message: str, now: datetime) -> WasmSchedulerStatus:
    """The scheduler's status once a step could not run: RolledOut and Ready are Unknown with
    `message`, everything else stays as the last step wrote it (it is still the best knowledge)."""
    status = scheduler.status or WasmSchedulerStatus()
    conditions = list(status.conditions)
    for type_ in (SchedulerCondition.ROLLED_OUT, SchedulerCondition.READY):
        conditions = set_condition(
            conditions,
            type_=type_,
            status=ConditionStatus.UNKNOWN,
            reason=STEP_FAILED,
            message=message,
            observed_generation=scheduler.metadata.generation,
            now=now,
        )
    return status.model_copy(update={"conditions": conditions})
