"""The WasmScheduler status one rollout step rewrites, from the last status to the next.

A step starts from the revisions and conditions the previous step wrote (they are the rollout's
only memory) and ends with the status to write: the history pruned, RolledOut and
ConfigRendered as the step set them, Available and Ready derived from the Deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from wasmgate.api.condition import Condition, ConditionStatus
from wasmgate.api.conditions import SchedulerCondition, set_condition
from wasmgate.api.wasmscheduler import SchedulerRevision, WasmScheduler, WasmSchedulerStatus
from wasmgate.rollout.health import DeploymentObservation
from wasmgate.rollout.history import prune
from wasmgate.rollout.plugins import PluginEntry


@dataclass
class StatusDraft:
    """The status being rewritten by one step."""

    scheduler: WasmScheduler
    plugins: Sequence[PluginEntry]
    """Plugins validated for this scheduler, current spec generation, staged or not."""
    deployment: DeploymentObservation | None
    now: datetime
    revisions: list[SchedulerRevision]
    conditions: list[Condition]
    left_out: frozenset[str] = frozenset()
    """Plugins over the scheduler's limit (wasmgate.rollout.limit): never marked as loaded."""

    def loaded_now(self) -> list[PluginEntry]:
        """The plugins a configuration of this step runs as their current spec."""
        return [
            entry for entry in self.plugins if not entry.blocked and entry.name not in self.left_out
        ]

    @property
    def generation(self) -> int | None:
        return self.scheduler.metadata.generation

    def loaded_by(self) -> str:
        """The RolledOut message of a plugin this scheduler runs."""
        # Names the scheduler, not the revision's ConfigMap: with the ConfigMap, every new
        # revision rewrote the RolledOut condition of every plugin it kept (writes grew with
        # plugins times revisions); the revision is in the WasmScheduler's status.
        return f"loaded by WasmScheduler {self.scheduler.metadata.name}"

    def rolling_on(self) -> str:
        """The RolledOut message of a plugin this scheduler is rolling out."""
        # Without the revision, for the same reason as loaded_by: a revision superseded while
        # it rolled would otherwise rewrite the mark of every plugin it carried.
        return f"rolling out on WasmScheduler {self.scheduler.metadata.name}"

    def condition(self, type_: str, status: ConditionStatus, reason: str, message: str) -> None:
        self.conditions = set_condition(
            self.conditions,
            type_=type_,
            status=status,
            reason=reason,
            message=message,
            observed_generation=self.generation,
            now=self.now,
        )

    def rolled_out(self, status: ConditionStatus, reason: str, message: str) -> None:
        """Set the scheduler's RolledOut condition."""
        self.condition(SchedulerCondition.ROLLED_OUT, status, reason, message)

    def finish(self, active: SchedulerRevision | None) -> tuple[WasmSchedulerStatus, list[str]]:
        """(the status to write with `active` running, ConfigMaps no kept revision names)."""
        history_limit = self.scheduler.spec.rollout.revision_history_limit
        kept, dropped = prune(self.revisions, history_limit)
        deployment = self.deployment
        ready = deployment.ready_replicas if deployment else 0
        available = deployment is not None and deployment.available_replicas > 0
        self.condition(
            SchedulerCondition.AVAILABLE,
            ConditionStatus.TRUE if available else ConditionStatus.FALSE,
            "MinimumReplicasAvailable" if available else "NoSchedulerAvailable",
            f"{ready} scheduler pods ready",
        )
        rolled = next(c for c in self.conditions if c.type == SchedulerCondition.ROLLED_OUT)
        both = available and rolled.status == ConditionStatus.TRUE
        self.condition(
            SchedulerCondition.READY,
            ConditionStatus.TRUE if both else rolled.status,
            "RolledOutAndAvailable" if both else rolled.reason,
            rolled.message,
        )
        status = WasmSchedulerStatus(
            observed_generation=self.generation,
            active_revision=active.revision if active else None,
            config_map_name=active.config_map_name if active else None,
            plugins=list(active.plugins) if active else [],
            ready_replicas=ready,
            revisions=kept,
            conditions=self.conditions,
        )
        return status, dropped
