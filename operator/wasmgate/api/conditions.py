"""Setting status conditions the Kubernetes way, and deriving a WasmPlugin's phase from them.

Kubernetes conventions: one condition per type; `lastTransitionTime` moves only when `status`
changes (a new reason or message keeps it); `observedGeneration` names the spec generation the
condition describes, so a condition older than the spec is stale.

wasmgate's reading of the three statuses, which every handler follows:
- True: the step succeeded for this generation.
- False: the step failed in a way only a change can fix (a permanent `WasmgateError`: fix the
  spec, the key, the artifact). The plugin is Failed.
- Unknown: the step is running, or retrying a temporary failure (the registry is down, a node
  is still pulling). The plugin is still on its way.

All functions are pure: they take conditions and a clock reading and return new conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from wasmgate.api.condition import MAX_MESSAGE_LENGTH, Condition, ConditionStatus
from wasmgate.api.wasmplugin_status import Phase
from wasmgate.errors import WasmgateError

READY = "Ready"


class PluginCondition(StrEnum):
    """Condition types of a WasmPlugin, one per pipeline step, then Ready."""

    RESOLVED = "Resolved"
    VERIFIED = "Verified"
    VALIDATED = "Validated"
    STAGED = "Staged"
    ROLLED_OUT = "RolledOut"
    READY = READY


class SchedulerCondition(StrEnum):
    """Condition types of a WasmScheduler."""

    CONFIG_RENDERED = "ConfigRendered"
    ROLLED_OUT = "RolledOut"
    AVAILABLE = "Available"
    READY = READY


# The WasmPlugin pipeline in order: each step's condition and the phase while it runs.
PIPELINE: tuple[tuple[PluginCondition, Phase], ...] = (
    (PluginCondition.RESOLVED, Phase.RESOLVING),
    (PluginCondition.VERIFIED, Phase.VERIFYING),
    (PluginCondition.VALIDATED, Phase.VALIDATING),
    (PluginCondition.STAGED, Phase.STAGING),
    (PluginCondition.ROLLED_OUT, Phase.ROLLING_OUT),
)
ALL_STEPS_SUCCEEDED = "AllStepsSucceeded"
_ELLIPSIS = "…"


def parse_conditions(raw: Iterable[Mapping[str, Any]]) -> list[Condition]:
    """Conditions from the JSON a handler reads off an object's status."""
    return [Condition.model_validate(item) for item in raw]


def dump_conditions(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    """Conditions as JSON for a status patch."""
    return [condition.to_json() for condition in conditions]


def find_condition(conditions: Iterable[Condition], type_: str) -> Condition | None:
    """The condition of the given type, if present."""
    return next((condition for condition in conditions if condition.type == type_), None)


def is_current(condition: Condition, generation: int | None) -> bool:
    """Whether the condition describes this generation of the spec (or cannot tell)."""
    if condition.observed_generation is None or generation is None:
        return True
    return condition.observed_generation >= generation


def _truncate(message: str) -> str:
    # The CRD caps messages; a longer one would make the whole status write fail.
    if len(message) <= MAX_MESSAGE_LENGTH:
        return message
    return message[: MAX_MESSAGE_LENGTH - len(_ELLIPSIS)] + _ELLIPSIS


def set_condition(
    conditions: Sequence[Condition],
    *,
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str = "",
    observed_generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Conditions with `type_` set; its lastTransitionTime moves only if its status changed.

    An existing condition keeps its place in the list; a new one is appended.
    """
    previous = find_condition(conditions, type_)
    if previous is None or previous.status != status:
        transition = now
    else:
        transition = previous.last_transition_time
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=_truncate(message),
        observed_generation=observed_generation,
        last_transition_time=transition,
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if condition.type == type_ else condition for condition in conditions]


def set_error_condition(
    conditions: Sequence[Condition],
    *,
    type_: str,
    error: WasmgateError,
    observed_generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Record a step's failure: False if the error is permanent, Unknown if it is retried."""
    return set_condition(
        conditions,
        type_=type_,
        status=ConditionStatus.FALSE if error.permanent else ConditionStatus.UNKNOWN,
        reason=error.reason,
        message=error.message,
        observed_generation=observed_generation,
        now=now,
    )


def _blocking_step(
    conditions: Sequence[Condition], generation: int | None
) -> tuple[PluginCondition, Phase, Condition | None] | None:
    """The first pipeline step that has not succeeded for this generation, if any.

    The condition is None when the step has not reported for this generation yet.
    """
    for type_, running in PIPELINE:
        condition = find_condition(conditions, type_)
        if condition is None or not is_current(condition, generation):
            return type_, running, None
        if condition.status != ConditionStatus.TRUE:
            return type_, running, condition
    return None


def derive_phase(conditions: Sequence[Condition], generation: int | None) -> Phase:
    """The WasmPlugin phase the conditions imply.

    Pending before any step has reported; Failed when the first unfinished step is False;
    otherwise the phase of that step (Resolving ... RollingOut); Ready when all succeeded.
    """
    if not any(find_condition(conditions, type_) for type_, _ in PIPELINE):
        return Phase.PENDING
    blocking = _blocking_step(conditions, generation)
    if blocking is None:
        return Phase.READY
    _, running, condition = blocking
    if condition is not None and condition.status == ConditionStatus.FALSE:
        return Phase.FAILED
    return running


def set_ready_condition(
    conditions: Sequence[Condition], *, generation: int | None, now: datetime
) -> list[Condition]:
    """Conditions with Ready summarising the pipeline steps.

    Ready copies the first unfinished step: its status, reason and message (prefixed with the
    step), or Unknown with the running phase as reason when that step has not reported yet.
    """
    blocking = _blocking_step(conditions, generation)
    if blocking is None:
        status, reason, message = ConditionStatus.TRUE, ALL_STEPS_SUCCEEDED, ""
    else:
        type_, running, condition = blocking
        if condition is None:
            status, reason = ConditionStatus.UNKNOWN, running.value
            message = f"waiting for {type_.value}"
        else:
            status, reason = condition.status, condition.reason
            message = f"{type_.value}: {condition.message}" if condition.message else type_.value
    return set_condition(
        conditions,
        type_=READY,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        now=now,
    )
