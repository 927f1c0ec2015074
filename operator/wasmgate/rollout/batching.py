"""Rollout batching: one scheduler revision for a burst of plugin changes, not one per batch.

Every revision is a new scheduler pod that compiles every guest it loads. When many plugins are
applied at once they leave the pipeline a few at a time; rolling each handful out on its own
started a pod per handful (thirty revisions per scheduler for 500 plugins) and superseded most
of them before they were up. Two rules keep it to about one:

- a change waits while other plugins of the same scheduler are still in the pipeline, or while
  changes still become ready (one did less than `QUIET_SECONDS` ago: plugins applied one by one
  may each clear the pipeline before the next arrives), for at most
  `RolloutConfig.batch_seconds` after the oldest waiting change became ready, so a plugin stuck
  in the pipeline (an unreachable registry) delays the others by that much and no more;
- a revision still rolling out is not superseded by one that only adds plugins to it: the
  additions roll out next, once it has finished. A change to a plugin it carries, or to the
  scheduler's settings, still supersedes it at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from wasmgate.rollout.plugins import PluginEntry

BATCHING = "WaitingForPlugins"
"""RolledOut reason while a change waits for the rest of its burst."""
NAMES_SHOWN = 5
QUIET_SECONDS = 2.0
"""A burst is over when no change of the scheduler became ready for this long."""


@dataclass(frozen=True)
class BatchWait:
    """Why a ready change waits, and how long until the wait may end (when nothing else does)."""

    seconds_left: float
    message: str


def batch_wait(
    changed: Sequence[PluginEntry],
    settling: Collection[str],
    now: datetime,
    window_seconds: float,
) -> BatchWait | None:
    """Whether the `changed` entries wait for the rest of their burst (None: roll now).

    A change whose readiness time is unknown (a removal, a scheduler setting) never waits.
    """
    if not changed or window_seconds <= 0:
        return None
    times = [entry.ready_since for entry in changed if entry.ready_since is not None]
    if len(times) < len(changed):
        return None
    left = window_seconds - (now - min(times)).total_seconds()
    quiet_for = (now - max(times)).total_seconds()
    if left <= 0 or (not settling and quiet_for >= QUIET_SECONDS):
        return None
    if settling:
        names = sorted(settling)
        shown = ", ".join(names[:NAMES_SHOWN]) + (" ..." if len(names) > NAMES_SHOWN else "")
        waiting_for = f"{len(names)} plugins still in the pipeline ({shown})"
    else:
        waiting_for = f"more changes: the last became ready {quiet_for:.0f}s ago"
    message = (
        f"{len(changed)} ready plugin changes wait up to {left:.0f}s more for {waiting_for}, "
        "to roll out in one revision"
    )
    return BatchWait(left if settling else min(left, QUIET_SECONDS - quiet_for), message)


def only_adds(revision: Mapping[str, PluginEntry], desired: Sequence[PluginEntry]) -> bool:
    """Whether `desired` keeps every plugin of `revision` as it loads it and adds others."""
    wanted = {entry.name: entry for entry in desired}
    if len(wanted) <= len(revision):
        return False
    return all(
        name in wanted and wanted[name].same_config(entry) for name, entry in revision.items()
    )
