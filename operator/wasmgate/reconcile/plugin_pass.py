"""One pass over one WasmPlugin object: from its stored body to the status and events to write.

This is the glue between the object as the API returns it and the orchestrator: parse the spec
and the cluster's policies, hash the trust material, read which inputs the recorded results were
computed from (status.stageInputs), run the stages. The handlers only read
the object, call this, and write what it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from wasmgate import metrics
from wasmgate.api.conditions import (
    PluginCondition,
    derive_phase,
    dump_conditions,
    parse_conditions,
    set_error_condition,
    set_ready_condition,
)
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.api.wasmplugin_status import Phase
from wasmgate.api.wasmtrustpolicy import WasmTrustPolicySpec
from wasmgate.errors import InvalidSpec, PolicyViolation, WasmgateError
from wasmgate.reconcile.deps import NamedPolicy, StageDeps
from wasmgate.reconcile.material import SecretVersion, trust_material
from wasmgate.reconcile.pipeline import Outcome, PipelineEvent, PluginView, Stage, run_pipeline

INPUTS_STATUS_FIELD = "stageInputs"
INPUTS_ANNOTATION = "wasmgate.dev/stage-inputs"
"""Where wasmgate before status.stageInputs kept them; still read (and ignored by kopf's diff
base) so an upgraded operator does not run every stage of every plugin again."""
MAX_ERROR_DETAIL = 600


def recorded_inputs(body: Mapping[str, Any]) -> dict[str, str]:
    """Stage name -> input fingerprint, from status.stageInputs; from the annotation an older
    wasmgate wrote when the status has none; empty when absent or unreadable."""
    in_status = (body.get("status") or {}).get(INPUTS_STATUS_FIELD)
    if isinstance(in_status, dict):
        return {str(k): str(v) for k, v in in_status.items()}
    annotations = body.get("metadata", {}).get("annotations") or {}
    try:
        value = json.loads(annotations.get(INPUTS_ANNOTATION, "{}"))
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def with_recorded_inputs(status: Mapping[str, Any], inputs: Mapping[str, str]) -> dict[str, Any]:
    """The status patch of a pass, carrying the inputs its results were computed from, so both
    land in one write: a crash can never leave results recorded under other inputs."""
    return {**status, INPUTS_STATUS_FIELD: dict(sorted(inputs.items())) or None}


def status_changes(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a status merge patch that differ from the stored status (a periodic pass
    that changes nothing then writes nothing)."""
    return {
        key: value
        for key, value in patch.items()
        if (key in stored) != (value is not None) or stored.get(key) != value
    }


def parse_policies(raw: Sequence[tuple[str, Mapping[str, Any]]]) -> list[NamedPolicy]:
    """The cluster's WasmTrustPolicies; one that does not parse fails closed."""
    policies = []
    for name, spec in sorted(raw, key=lambda item: item[0]):
        try:
            policies.append(NamedPolicy(name, WasmTrustPolicySpec.model_validate(spec)))
        except ValidationError as e:
            raise PolicyViolation(
                f"WasmTrustPolicy {name} cannot be read ({str(e)[:MAX_ERROR_DETAIL]}); no plugin "
                "is verified until it is fixed"
            ) from e
    return policies


def refuse(
    status: Mapping[str, Any], generation: int, error: WasmgateError, now: datetime
) -> Outcome:
    """The outcome when the pipeline cannot start: the first step fails with `error`."""
    conditions = set_error_condition(
        parse_conditions(status.get("conditions", [])),
        type_=PluginCondition.RESOLVED,
        error=error,
        observed_generation=generation,
        now=now,
    )
    conditions = set_ready_condition(conditions, generation=generation, now=now)
    patch = {
        "conditions": dump_conditions(conditions),
        "phase": derive_phase(conditions, generation).value,
        "observedGeneration": generation,
    }
    event = PipelineEvent("Warning", error.reason, error.message)
    return Outcome(patch, {}, [event], (), None if error.permanent else error)


RESULTS = {Phase.READY.value: "ready", Phase.FAILED.value: "failed"}


def reconcile_result(outcome: Outcome) -> tuple[str, str]:
    """(result, reason) of a pass for the reconcile metric: a temporary error's reason, else the
    phase (ready, failed, or progressing while later stages run) and the Ready reason."""
    if outcome.retry is not None:
        return "retry", outcome.retry.reason
    conditions: list[Mapping[str, Any]] = outcome.status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == PluginCondition.READY), {})
    result = RESULTS.get(str(outcome.status.get("phase")), "progressing")
    return result, str(ready.get("reason") or "Unknown")


def _counted(outcome: Outcome) -> Outcome:
    metrics.record_reconcile(*reconcile_result(outcome))
    return outcome


def plugin_pass(
    body: Mapping[str, Any],
    *,
    raw_policies: Sequence[tuple[str, Mapping[str, Any]]],
    secret_version: SecretVersion,
    make_deps: Callable[[Sequence[NamedPolicy]], StageDeps],
    make_stages: Callable[[StageDeps], list[Stage]],
    now: datetime,
    rerun: Collection[str] = (),
) -> Outcome:
    """Run the pipeline for the object `body` as stored."""
    metadata = body.get("metadata", {})
    generation = int(metadata.get("generation") or 0)
    status: Mapping[str, Any] = body.get("status") or {}
    try:
        spec = WasmPluginSpec.model_validate(body.get("spec") or {})
    except ValidationError as e:
        error = InvalidSpec(f"spec: {str(e)[:MAX_ERROR_DETAIL]}")
        return _counted(refuse(status, generation, error, now))
    try:
        policies = parse_policies(raw_policies)
    except PolicyViolation as e:
        return _counted(refuse(status, generation, e, now))
    view = PluginView(
        name=str(metadata.get("name", "")),
        generation=generation,
        spec=spec,
        status=status,
        material=trust_material(spec, policies, secret_version),
    )
    stages = make_stages(make_deps(policies))
    return _counted(
        run_pipeline(view, stages, recorded=recorded_inputs(body), now=now, rerun=rerun)
    )
