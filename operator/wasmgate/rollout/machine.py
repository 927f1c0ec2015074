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
  (unless the change only adds plugins: they wait for the next revision, rollout.batching)
- desired config differs, other plugins still in the pipeline -> WaitingForPlugins, at most
  RolloutConfig.batch_seconds (rollout.batching)
A plugin whose change failed is pinned to what the active revision ran until its generation
changes, so a bad plugin never blocks the others and is never retried as is. A Progressing
revision is judged in `rollout.watch`; inputs and decisions are the types of `rollout.decision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
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
from wasmgate.rollout.batching import BATCHING, batch_wait, only_adds
from wasmgate.rollout.config import build_scheduler_config
from wasmgate.rollout.configmap import build_config_map
from wasmgate.rollout.decision import (
    POLL_SECONDS,
    RENDERED,
    ROLLED_OUT,
    ROLLING_OUT,
    STAGING_POLL_SECONDS,
    STEP_FAILED,
    WAITING_FOR_STAGING,
    Decision,
    RolloutInputs,
    Step,
    finish,
    marks,
)
from wasmgate.rollout.deployment import build_deployment
from wasmgate.rollout.desired import (
    active_entries,
    changed_plugins,
    desired_entries,
    revision_entries,
)
from wasmgate.rollout.history import failed_as, latest, next_revision_number, with_outcome
from wasmgate.rollout.limit import LIMIT_EXCEEDED, choose, plugin_message, scheduler_message
from wasmgate.rollout.plugins import PluginEntry
from wasmgate.rollout.status_draft import StatusDraft
from wasmgate.rollout.watch import watch_progressing


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
    left_out = marks(choice.left_out, ConditionStatus.FALSE, LIMIT_EXCEEDED, plugin_message(name))
    return replace(decision, plugin_marks=decision.plugin_marks + left_out)


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
        return watch_progressing(draft, inputs, progressing, active, running, entries, deploy)
    rolling = revision_entries(inputs.revision_configs, progressing)
    if progressing is not None and rolling is not None and only_adds(rolling, entries):
        carried = sorted(rolling.values(), key=lambda entry: entry.name)
        same = build_config_map(
            scheduler, build_scheduler_config(scheduler, carried, settings), number, settings
        )
        if same["metadata"]["name"] == progressing.config_map_name:
            return watch_progressing(draft, inputs, progressing, active, running, carried, deploy)
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
        return finish(
            draft,
            Step.IDLE,
            active=active,
            apply_deployment=keep_running,
            plugin_marks=marks(current, ConditionStatus.TRUE, ROLLED_OUT, draft.loaded_by()),
        )
    failed_before = failed_as(draft.revisions, name)
    if failed_before is not None:
        message = (
            f"configuration {name} failed as revision {failed_before.revision}; it is not "
            f"retried until a plugin or the scheduler changes: {failed_before.message}"
        )
        draft.rolled_out(ConditionStatus.FALSE, RolloutFailed.reason, message)
        return finish(
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
        return finish(
            draft,
            Step.WAITING_FOR_STAGING,
            active=active,
            apply_deployment=keep_running,
            requeue_after=STAGING_POLL_SECONDS,
            message=message,
        )
    changed = changed_plugins(entries, running)
    wait = batch_wait(changed, inputs.settling, inputs.now, settings.batch_seconds)
    if wait is not None:
        draft.rolled_out(ConditionStatus.UNKNOWN, BATCHING, wait.message)
        return finish(
            draft,
            Step.WAITING_FOR_PLUGINS,
            active=active,
            apply_deployment=keep_running,
            requeue_after=max(min(wait.seconds_left, STAGING_POLL_SECONDS), POLL_SECONDS),
            message=wait.message,
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
    return finish(
        draft,
        Step.STARTED,
        active=active,
        create_config_map=config_map,
        apply_deployment=deploy(name),
        plugin_marks=marks(changed, ConditionStatus.UNKNOWN, ROLLING_OUT, draft.rolling_on()),
        requeue_after=POLL_SECONDS,
        message=message,
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
