"""Run the WasmPlugin stages in order, skipping every stage whose recorded result still holds.

A stage's result holds when its condition is True or False for the current generation and the
fingerprint of its inputs (the digest, the trust material, ...) equals the one recorded when it
ran. So a restarted operator, or a periodic pass, makes no registry request for a plugin whose
inputs have not changed; a moved tag (new digest) or an edited key (new trust hash) changes the
fingerprint and the stage runs again. A temporary failure leaves the condition Unknown and asks
for a retry; a permanent one leaves it False and waits for a change of the inputs. Later stages
are added by appending a `Stage` to the list.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from wasmgate import metrics
from wasmgate.api.condition import Condition, ConditionStatus
from wasmgate.api.conditions import (
    PluginCondition,
    derive_phase,
    dump_conditions,
    find_condition,
    parse_conditions,
    set_condition,
    set_error_condition,
    set_ready_condition,
)
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.errors import WasmgateError

WAITING_REASON = "Waiting"
EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class PluginView:
    """What a stage may read: the spec, the status so far, and hashes of outside inputs."""

    name: str
    generation: int
    spec: WasmPluginSpec
    status: Mapping[str, Any]
    """Status JSON (camelCase) including what earlier stages of this pass wrote."""
    material: Mapping[str, str] = field(default_factory=dict)
    """Hashes of inputs outside the object, e.g. "trust" (keys, policies), "pullSecret"."""


@dataclass(frozen=True)
class StageResult:
    """A stage's success: status fields to write and the condition message."""

    status: Mapping[str, Any]
    message: str


class StageFailed(Exception):
    """A stage failure that still has status to record (e.g. the exports of a trapping module)."""

    def __init__(self, error: WasmgateError, status: Mapping[str, Any]) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status


@dataclass(frozen=True)
class Stage:
    """One pipeline step: its condition, its work, and what its result depends on."""

    name: str
    condition: PluginCondition
    success_reason: str
    run: Callable[[PluginView], StageResult]
    inputs: Callable[[PluginView], str]
    """Fingerprint of everything the result depends on; see `fingerprint`."""
    owns: tuple[str, ...] = ()
    """Status fields this stage writes; removed when its result no longer holds."""


@dataclass(frozen=True)
class PipelineEvent:
    """A Kubernetes Event to post about the plugin."""

    type: EventType
    reason: str
    message: str


def one_per_pass(events: Sequence[PipelineEvent]) -> list[PipelineEvent]:
    """The pass's successes as one Normal Event, named by the last stage that succeeded, its
    message naming each; warnings stay apart. A first pass then posts one Event, not three
    (each is an API request)."""
    merged: list[PipelineEvent] = []
    for event in events:
        previous = merged[-1] if merged else None
        if event.type == "Normal" and previous is not None and previous.type == "Normal":
            message = f"{previous.message}; {event.message}"
            merged[-1] = PipelineEvent("Normal", event.reason, message)
        else:
            merged.append(event)
    return merged


@dataclass(frozen=True)
class Outcome:
    """What one pass decided: the status to write, fingerprints to record, events, retry."""

    status: dict[str, Any]
    """Status fields to merge-patch; a None value removes the field."""
    inputs: dict[str, str]
    """Stage name -> fingerprint of the inputs its recorded result was computed from."""
    events: list[PipelineEvent]
    ran: tuple[str, ...]
    retry: WasmgateError | None = None
    """A temporary failure: run the pipeline again after a backoff."""


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-serialisable parts, as `sha256:<hex>`."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _settled(condition: Condition | None, recorded: str | None, inputs: str) -> bool:
    # The generation is not compared: a stage whose inputs include what it reads of the spec
    # (resolve and validate include the generation; verify reads spec.verify through the trust
    # hash) need not run again when another part of the spec changed.
    return (
        condition is not None
        and condition.status in (ConditionStatus.TRUE, ConditionStatus.FALSE)
        and recorded == inputs
    )


class _Pass:
    """The mutable state of one pass over the stages."""

    def __init__(self, view: PluginView, recorded: Mapping[str, str], now: datetime) -> None:
        self.view = view
        self.now = now
        self.status: dict[str, Any] = dict(view.status)
        self.conditions: list[Condition] = parse_conditions(view.status.get("conditions", []))
        self.inputs = dict(recorded)
        self.events: list[PipelineEvent] = []
        self.ran: list[str] = []

    def current(self) -> PluginView:
        return PluginView(
            self.view.name, self.view.generation, self.view.spec, self.status, self.view.material
        )

    def succeed(self, stage: Stage, result: StageResult, inputs: str) -> None:
        previous = find_condition(self.conditions, stage.condition)
        self.status.update(result.status)
        self.conditions = set_condition(
            self.conditions,
            type_=stage.condition,
            status=ConditionStatus.TRUE,
            reason=stage.success_reason,
            message=result.message,
            observed_generation=self.view.generation,
            now=self.now,
        )
        self.inputs[stage.name] = inputs
        # A periodic pass that finds the same result (same digest, same signer) says nothing new.
        if previous is None or (previous.status, previous.message) != (
            ConditionStatus.TRUE,
            result.message,
        ):
            self.events.append(PipelineEvent("Normal", stage.success_reason, result.message))

    def fail(self, stage: Stage, error: WasmgateError, status: Mapping[str, Any]) -> None:
        previous = find_condition(self.conditions, stage.condition)
        self.conditions = set_error_condition(
            self.conditions,
            type_=stage.condition,
            error=error,
            observed_generation=self.view.generation,
            now=self.now,
        )
        updated = find_condition(self.conditions, stage.condition)
        if (
            previous is None
            or updated is None
            or (previous.status, previous.reason)
            != (
                updated.status,
                updated.reason,
            )
        ):
            self.events.append(
                PipelineEvent("Warning", error.reason, f"{stage.condition}: {error.message}")
            )
        if error.permanent:
            self.status.update({name: None for name in stage.owns})
            self.status.update(status)

    def keep(self, stage: Stage, condition: Condition) -> None:
        """A settled result holds for this generation too."""
        self.conditions = set_condition(
            self.conditions,
            type_=stage.condition,
            status=condition.status,
            reason=condition.reason,
            message=condition.message,
            observed_generation=self.view.generation,
            now=self.now,
        )

    def reset(self, stage: Stage, blocker: Stage) -> None:
        """Mark a later stage as waiting: its result no longer describes the plugin."""
        self.inputs.pop(stage.name, None)
        self.status.update({name: None for name in stage.owns})
        if find_condition(self.conditions, stage.condition) is None:
            return
        self.conditions = set_condition(
            self.conditions,
            type_=stage.condition,
            status=ConditionStatus.UNKNOWN,
            reason=WAITING_REASON,
            message=f"waiting for {blocker.condition}",
            observed_generation=self.view.generation,
            now=self.now,
        )

    def outcome(self, retry: WasmgateError | None) -> Outcome:
        generation = self.view.generation
        conditions = set_ready_condition(self.conditions, generation=generation, now=self.now)
        self.status["conditions"] = dump_conditions(conditions)
        self.status["phase"] = derive_phase(conditions, generation).value
        self.status["observedGeneration"] = generation
        return Outcome(self.status, self.inputs, one_per_pass(self.events), tuple(self.ran), retry)


def run_pipeline(
    view: PluginView,
    stages: Sequence[Stage],
    *,
    recorded: Mapping[str, str],
    now: datetime,
    rerun: Collection[str] = (),
) -> Outcome:
    """One pass: run each stage whose result does not hold, stop at the first failure.

    `recorded` holds the fingerprints of the results in `view.status` (from an earlier pass);
    `rerun` names stages to run even if settled (the periodic re-resolve of a moving tag).
    """
    state = _Pass(view, recorded, now)
    for index, stage in enumerate(stages):
        inputs = stage.inputs(state.current())
        condition = find_condition(state.conditions, stage.condition)
        if (
            condition is not None
            and stage.name not in rerun
            and _settled(condition, recorded.get(stage.name), inputs)
        ):
            state.keep(stage, condition)
            if condition.status == ConditionStatus.FALSE:
                break
            continue
        state.ran.append(stage.name)
        started = time.perf_counter()
        try:
            result = stage.run(state.current())
        except (WasmgateError, StageFailed) as e:
            error, status = (e.error, e.status) if isinstance(e, StageFailed) else (e, {})
            metrics.record_stage(
                stage.name,
                "failed" if error.permanent else "retry",
                error.reason,
                time.perf_counter() - started,
            )
            state.fail(stage, error, status)
            if not error.permanent:
                return state.outcome(retry=error)
            state.inputs[stage.name] = inputs
            for later in stages[index + 1 :]:
                state.reset(later, stage)
            break
        metrics.record_stage(
            stage.name, "success", stage.success_reason, time.perf_counter() - started
        )
        state.succeed(stage, result, inputs)
    return state.outcome(retry=None)
