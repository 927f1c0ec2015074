"""The revision history in WasmScheduler.status: the record a rollback and a restart read.

Bounded: the active and the progressing revision always stay, plus the newest others up to
spec.rollout.revisionHistoryLimit; ConfigMaps of dropped revisions are deleted unless a kept
revision still names them (the same content may come back as a newer revision).
"""

from __future__ import annotations

from collections.abc import Sequence

from wasmgate.api.wasmscheduler import RevisionOutcome, SchedulerRevision

MAX_REVISION_MESSAGE = 1024
KEPT_ALWAYS = (RevisionOutcome.ACTIVE, RevisionOutcome.PROGRESSING)


def latest(
    revisions: Sequence[SchedulerRevision], outcome: RevisionOutcome
) -> SchedulerRevision | None:
    matching = [revision for revision in revisions if revision.outcome == outcome]
    return max(matching, key=lambda revision: revision.revision) if matching else None


def next_revision_number(revisions: Sequence[SchedulerRevision]) -> int:
    return max((revision.revision for revision in revisions), default=0) + 1


def with_outcome(
    revisions: Sequence[SchedulerRevision],
    number: int,
    outcome: RevisionOutcome,
    message: str | None = None,
) -> list[SchedulerRevision]:
    """Revisions with revision `number` set to `outcome` (and `message`, if given)."""
    changed: list[SchedulerRevision] = []
    for revision in revisions:
        if revision.revision == number:
            update: dict[str, object] = {"outcome": outcome}
            if message is not None:
                update["message"] = message[:MAX_REVISION_MESSAGE]
            revision = revision.model_copy(update=update)
        changed.append(revision)
    return changed


def failed_as(
    revisions: Sequence[SchedulerRevision], config_map_name: str
) -> SchedulerRevision | None:
    """The Failed revision that ran `config_map_name`, if that configuration failed before."""
    return next(
        (
            revision
            for revision in revisions
            if revision.outcome == RevisionOutcome.FAILED
            and revision.config_map_name == config_map_name
        ),
        None,
    )


def supersede_active(revisions: Sequence[SchedulerRevision], keep: int) -> list[SchedulerRevision]:
    """Every Active revision other than `keep` becomes Superseded."""
    return [
        revision.model_copy(update={"outcome": RevisionOutcome.SUPERSEDED})
        if revision.outcome == RevisionOutcome.ACTIVE and revision.revision != keep
        else revision
        for revision in revisions
    ]


def prune(
    revisions: Sequence[SchedulerRevision], limit: int
) -> tuple[list[SchedulerRevision], list[str]]:
    """(kept revisions oldest first, ConfigMap names no kept revision uses any more)."""
    ordered = sorted(revisions, key=lambda revision: revision.revision)
    always = [revision for revision in ordered if revision.outcome in KEPT_ALWAYS]
    others = [revision for revision in ordered if revision.outcome not in KEPT_ALWAYS]
    room = max(limit + 1 - len(always), 0)
    kept_others = others[max(len(others) - room, 0) :] if room else []
    kept = sorted([*always, *kept_others], key=lambda revision: revision.revision)
    kept_names = {revision.config_map_name for revision in kept}
    dropped = [
        revision.config_map_name
        for revision in ordered
        if revision not in kept and revision.config_map_name not in kept_names
    ]
    return kept, sorted(set(dropped))
