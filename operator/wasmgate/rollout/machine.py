"""The rollout state machine: one pure step from what the cluster shows to what to do next.

All state lives in WasmScheduler.status (the revision history), so the operator may die at any
point and the next step, from any process, picks up where the last one stopped. A step never
performs I/O: `decide()` returns the objects to create, the Deployment to apply, the ConfigMaps to
delete, the new status and the conditions to set on plugins; `wasmgate.rollout.step` carries
them out through the cluster the runner hands in.

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

from wasmgate.api.condition import ConditionStatus
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
from wasmgate.rollout.desired import active_entries, changed_plugins, desired_entries
from wasmgate.rollout.health import DeploymentObservation, HealthVerdict, PodObservation, judge
from wasmgate.rollout.history import (
    failed_as,
    latest,
    next_revision_number,
    supersede_active,
    with_outcome,
)
from wasmgate.rollout.limit import LIMIT_EXCEEDED, choose, plugin_message, scheduler_message
from wasmgate.rollout.plugins import PluginEntry
from wasmgate.rollout.settings import RolloutConfig
from wasmgate.rollout.status_draft import StatusDraft

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


def _finish(
    draft: StatusDraft, kind: Step, *, active: SchedulerRevision | None, **rest: Any
) -> Decision:
    status, dropped = draft.finish(active)
    return Decision(step=kind, status=status, delete_config_maps=tuple(dropped), **rest)


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
    draft = StatusDraft(
        scheduler,
        inputs.plugins,
        inputs.deployment,
        inputs.now,
        list(previous.revisions),
        list(previous.conditions),
    )
    active = latest(draft.revisions, RevisionOutcome.ACTIVE)
    running = active_entries(inputs.revision_configs, active)
    choice = choose(desired_entries(inputs.plugins, running), running)
    draft.left_out = frozenset(entry.name for entry in choice.left_out)
    name = str(scheduler.metadata.name)
    rendered = (
        (ConditionStatus.FALSE, LIMIT_EXCEEDED, scheduler_message(name, choice))
        if choice.left_out
        else None
    )
    decision = _decide(draft, inputs, active, running, choice.loaded, rendered)
    # Every step repeats the marks: a plugin left out stays told so, whatever the rollout does.
    marks = _marks(choice.left_out, ConditionStatus.FALSE, LIMIT_EXCEEDED, plugin_message(name))
    return replace(decision, plugin_marks=decision.plugin_marks + marks)


def _decide(
    draft: StatusDraft,
    inputs: RolloutInputs,
    active: SchedulerRevision | None,
    running: Mapping[str, PluginEntry],
    entries: list[PluginEntry],
    rendered: tuple[ConditionStatus, str, str] | None,
) -> Decision:
    scheduler, settings = inputs.scheduler, inputs.settings
    progressing = latest(draft.revisions, RevisionOutcome.PROGRESSING)
    config = build_scheduler_config(scheduler, entries, settings)
    number = next_revision_number(draft.revisions)
    config_map = build_config_map(scheduler, config, number, settings)
    name: str = config_map["metadata"]["name"]
    status, reason, message = rendered or (
        ConditionStatus.TRUE,
        RENDERED,
        f"{name} loads {len(entries)} plugins",
    )
    draft.condition(SchedulerCondition.CONFIG_RENDERED, status, reason, message)

    def deploy(config_map_name: str) -> dict[str, Any]:
        return build_deployment(scheduler, config_map_name, settings)

    if progressing is not None and progressing.config_map_name == name:
        return _watch(draft, inputs, progressing, active, running, entries, deploy)
    if progressing is not None:
        draft.revisions = with_outcome(
            draft.revisions,
            progressing.revision,
            RevisionOutcome.SUPERSEDED,
            "replaced by a newer configuration before it finished rolling out",
        )

    keep_running = deploy(active.config_map_name) if active else None
    if active is not None and active.config_map_name == name:
        running_now = f"revision {active.revision} ({name}) is running"
        draft.rolled_out(ConditionStatus.TRUE, ROLLED_OUT, running_now)
        current = draft.loaded_now()
        return _finish(
            draft,
            Step.IDLE,
            active=active,
            apply_deployment=keep_running,
            plugin_marks=_marks(current, ConditionStatus.TRUE, ROLLED_OUT, draft.loaded_by()),
        )
    failed_before = failed_as(draft.revisions, name)
    if failed_before is not None:
        message = (
            f"configuration {name} failed as revision {failed_before.revision}; it is not "
            f"retried until a plugin or the scheduler changes: {failed_before.message}"
        )
        draft.rolled_out(ConditionStatus.FALSE, RolloutFailed.reason, message)
        return _finish(
            draft,
            Step.BLOCKED,
            active=active,
            apply_deployment=keep_running,
            message=message,
        )
    missing = sorted({entry.layer_digest for entry in entries} - inputs.staged)
    if missing:
        message = f"waiting until every scheduler node holds {', '.join(missing)}"
        draft.rolled_out(ConditionStatus.UNKNOWN, WAITING_FOR_STAGING, message)
        return _finish(
            draft,
            Step.WAITING_FOR_STAGING,
            active=active,
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
    draft.revisions.append(revision)
    message = f"rolling out revision {number} ({name})"
    draft.rolled_out(ConditionStatus.UNKNOWN, ROLLING_OUT, message)
    changed = changed_plugins(entries, running)
    return _finish(
        draft,
        Step.STARTED,
        active=active,
        create_config_map=config_map,
        apply_deployment=deploy(name),
        plugin_marks=_marks(changed, ConditionStatus.UNKNOWN, ROLLING_OUT, draft.rolling_on()),
        requeue_after=POLL_SECONDS,
        message=message,
    )


def _watch(
    draft: StatusDraft,
    inputs: RolloutInputs,
    progressing: SchedulerRevision,
    active: SchedulerRevision | None,
    running: Mapping[str, PluginEntry],
    entries: Sequence[PluginEntry],
    deploy: Any,
) -> Decision:
    """The Progressing revision is still the one wanted: judge how the Deployment is doing."""
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
    if health.verdict == HealthVerdict.PROGRESSING:
        message = f"rolling out revision {progressing.revision} ({name}): {health.message}"
        draft.rolled_out(ConditionStatus.UNKNOWN, ROLLING_OUT, message)
        return _finish(
            draft,
            Step.PROGRESSING,
            active=active,
            apply_deployment=deploy(name),
            requeue_after=POLL_SECONDS,
            message=message,
        )
    if health.verdict == HealthVerdict.SUCCEEDED:
        draft.revisions = supersede_active(
            with_outcome(draft.revisions, progressing.revision, RevisionOutcome.ACTIVE),
            keep=progressing.revision,
        )
        now_active = latest(draft.revisions, RevisionOutcome.ACTIVE)
        message = f"revision {progressing.revision} ({name}) is running: {health.message}"
        draft.rolled_out(ConditionStatus.TRUE, ROLLED_OUT, message)
        current = draft.loaded_now()
        return _finish(
            draft,
            Step.SUCCEEDED,
            active=now_active,
            apply_deployment=deploy(name),
            plugin_marks=_marks(current, ConditionStatus.TRUE, ROLLED_OUT, draft.loaded_by()),
            message=message,
        )
    changed = changed_plugins(entries, running)
    culprits = ", ".join(entry.name for entry in changed) or "none (scheduler settings)"
    failure = f"revision {progressing.revision} ({name}) failed: {health.message}"
    draft.revisions = with_outcome(
        draft.revisions,
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
    draft.rolled_out(ConditionStatus.FALSE, RolloutFailed.reason, outcome)
    return _finish(
        draft,
        Step.ROLLED_BACK if rollback else Step.FAILED,
        active=active,
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
