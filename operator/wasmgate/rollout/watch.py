"""Watching the revision that rolls out: the half of the rollout machine that judges it.

Called by `rollout.machine` while the newest revision is Progressing and is still the one
wanted: the Deployment's health decides whether it keeps rolling, becomes the active revision
(superseding the old one), or fails and is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.wasmscheduler import RevisionOutcome, SchedulerRevision
from wasmgate.errors import RolloutFailed
from wasmgate.rollout.decision import (
    POLL_SECONDS,
    ROLLED_OUT,
    ROLLING_OUT,
    Decision,
    RolloutInputs,
    Step,
    finish,
    marks,
)
from wasmgate.rollout.deployment import config_hash_of
from wasmgate.rollout.desired import changed_plugins
from wasmgate.rollout.health import HealthVerdict, judge
from wasmgate.rollout.history import latest, supersede_active, with_outcome
from wasmgate.rollout.plugins import PluginEntry
from wasmgate.rollout.status_draft import StatusDraft


def watch_progressing(
    draft: StatusDraft,
    inputs: RolloutInputs,
    progressing: SchedulerRevision,
    active: SchedulerRevision | None,
    running: Mapping[str, PluginEntry],
    entries: Sequence[PluginEntry],
    deploy: Callable[[str], dict[str, Any]],
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
        return finish(
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
        # Plugins added while it rolled out wait for the next revision: not marked yet.
        loaded = {entry.name: entry for entry in entries}
        current = [
            entry
            for entry in draft.loaded_now()
            if entry.name in loaded and entry.same_config(loaded[entry.name])
        ]
        return finish(
            draft,
            Step.SUCCEEDED,
            active=now_active,
            apply_deployment=deploy(name),
            plugin_marks=marks(current, ConditionStatus.TRUE, ROLLED_OUT, draft.loaded_by()),
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
    return finish(
        draft,
        Step.ROLLED_BACK if rollback else Step.FAILED,
        active=active,
        apply_deployment=target,
        plugin_marks=marks(changed, ConditionStatus.FALSE, RolloutFailed.reason, outcome),
        message=outcome,
    )
