"""What one rollout step reads and decides: the plain data between gather, decide and execute.

`RolloutInputs` is everything `rollout.machine.decide` reads (gathered by `rollout.step`), a
`Decision` what it returns for `rollout.step.execute` to carry out; `finish` and `marks` are the
helpers both halves of the machine (starting revisions, watching one roll) build decisions with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.wasmscheduler import SchedulerRevision, WasmScheduler, WasmSchedulerStatus
from wasmgate.rollout.batching import BATCHING
from wasmgate.rollout.health import DeploymentObservation, PodObservation
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
    WAITING_FOR_PLUGINS = BATCHING
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
    settling: frozenset[str] = frozenset()
    """Plugins of this scheduler the pipeline has yet to decide on (api.plugin_json.in_pipeline):
    a ready change waits a little for them (rollout.batching)."""


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


def finish(
    draft: StatusDraft, kind: Step, *, active: SchedulerRevision | None, **rest: Any
) -> Decision:
    status, dropped = draft.finish(active)
    return Decision(step=kind, status=status, delete_config_maps=tuple(dropped), **rest)


def marks(
    entries: Sequence[PluginEntry], status: ConditionStatus, reason: str, message: str
) -> tuple[PluginMark, ...]:
    return tuple(
        PluginMark(entry.name, entry.generation, status, reason, message) for entry in entries
    )
