"""Condition helpers follow Kubernetes conventions; Ready and the phase follow the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wasmgate.api.condition import MAX_MESSAGE_LENGTH, Condition, ConditionStatus
from wasmgate.api.conditions import (
    PIPELINE,
    PluginCondition,
    derive_phase,
    dump_conditions,
    find_condition,
    parse_conditions,
    set_condition,
    set_error_condition,
    set_ready_condition,
)
from wasmgate.api.wasmplugin_status import Phase
from wasmgate.errors import DigestMismatch, RegistryUnavailable

T0 = datetime(2025, 5, 1, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def _set(
    conditions: list[Condition],
    type_: str,
    status: ConditionStatus,
    *,
    reason: str = "Because",
    message: str = "",
    generation: int | None = 1,
    now: datetime = T0,
) -> list[Condition]:
    return set_condition(
        conditions,
        type_=type_,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        now=now,
    )


def _steps(*statuses: ConditionStatus, generation: int = 1) -> list[Condition]:
    conditions: list[Condition] = []
    for (type_, _), status in zip(PIPELINE, statuses, strict=False):
        conditions = _set(conditions, type_, status, reason=f"{type_.value}Reason",
                          message=f"{type_.value} detail", generation=generation)  # fmt: skip
    return conditions


def test_new_condition_is_appended_with_the_current_time() -> None:
    conditions = _set(_set([], "Resolved", TRUE), "Verified", UNKNOWN, now=T1)
    assert [c.type for c in conditions] == ["Resolved", "Verified"]
    assert conditions[1].last_transition_time == T1
    assert conditions[1].observed_generation == 1


def test_same_status_keeps_transition_time_but_takes_new_reason_and_message() -> None:
    first = _set([], "Verified", UNKNOWN, reason="Verifying", message="fetching signatures")
    second = _set(first, "Verified", UNKNOWN, reason="RegistryUnavailable", message="503", now=T1)
    [condition] = second
    assert condition.last_transition_time == T0
    assert (condition.reason, condition.message) == ("RegistryUnavailable", "503")


def test_status_change_moves_transition_time_and_keeps_position() -> None:
    conditions = _set(_set([], "Resolved", TRUE), "Verified", UNKNOWN)
    changed = _set(conditions, "Resolved", FALSE, reason="DigestMismatch", now=T2)
    assert [c.type for c in changed] == ["Resolved", "Verified"]
    assert changed[0].last_transition_time == T2
    assert changed[1] == conditions[1]


def test_inputs_are_not_modified() -> None:
    conditions = _set([], "Resolved", TRUE)
    before = list(conditions)
    _set(conditions, "Resolved", FALSE, now=T1)
    assert conditions == before


def test_overlong_message_is_truncated_to_what_the_crd_accepts() -> None:
    [condition] = _set([], "Staged", FALSE, message="x" * (MAX_MESSAGE_LENGTH + 10))
    assert len(condition.message) == MAX_MESSAGE_LENGTH
    assert condition.message.endswith("…")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DigestMismatch("spec.source.digest: tag now points to sha256:aa..; expected bb.."), FALSE),
        (RegistryUnavailable("registry.example.com: 503 Service Unavailable"), UNKNOWN),
    ],
    ids=["permanent_is_false", "temporary_is_unknown"],
)
def test_error_condition_status_follows_permanence(
    error: Exception, status: ConditionStatus
) -> None:
    assert isinstance(error, DigestMismatch | RegistryUnavailable)
    [condition] = set_error_condition(
        [], type_="Resolved", error=error, observed_generation=3, now=T0
    )
    assert condition.status == status
    assert condition.reason == error.reason
    assert condition.message == error.message
    assert condition.observed_generation == 3


def test_dicts_round_trip_in_kubernetes_shape() -> None:
    raw = [{"type": "Ready", "status": "True", "reason": "AllStepsSucceeded", "message": "",
            "observedGeneration": 2, "lastTransitionTime": "2025-05-01T10:00:00Z"}]  # fmt: skip
    conditions = parse_conditions(raw)
    assert conditions[0].last_transition_time == T0
    assert dump_conditions(conditions) == raw
    assert find_condition(conditions, "Ready") is conditions[0]
    assert find_condition(conditions, "Verified") is None


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _set([], "Resolved", TRUE, now=datetime(2025, 5, 1, 10, 0, 0))


PHASES = [
    ("no_conditions", [], 1, Phase.PENDING),
    ("resolving", _steps(UNKNOWN), 1, Phase.RESOLVING),
    ("verifying_not_reported", _steps(TRUE), 1, Phase.VERIFYING),
    ("verifying_retrying", _steps(TRUE, UNKNOWN), 1, Phase.VERIFYING),
    ("verify_failed", _steps(TRUE, FALSE), 1, Phase.FAILED),
    ("validating", _steps(TRUE, TRUE), 1, Phase.VALIDATING),
    ("staging", _steps(TRUE, TRUE, TRUE, UNKNOWN), 1, Phase.STAGING),
    ("rolling_out", _steps(TRUE, TRUE, TRUE, TRUE), 1, Phase.ROLLING_OUT),
    ("rollout_failed", _steps(TRUE, TRUE, TRUE, TRUE, FALSE), 1, Phase.FAILED),
    ("ready", _steps(TRUE, TRUE, TRUE, TRUE, TRUE), 1, Phase.READY),
    ("ready_but_spec_changed", _steps(TRUE, TRUE, TRUE, TRUE, TRUE), 2, Phase.RESOLVING),
    ("failed_then_spec_changed", _steps(TRUE, FALSE), 2, Phase.RESOLVING),
    ("later_false_behind_earlier_unknown", _steps(UNKNOWN, FALSE), 1, Phase.RESOLVING),
    ("unknown_generation", _steps(TRUE, TRUE, TRUE, TRUE, TRUE), None, Phase.READY),
]


@pytest.mark.parametrize(
    ("conditions", "generation", "phase"),
    [case[1:] for case in PHASES],
    ids=[case[0] for case in PHASES],
)
def test_derive_phase(conditions: list[Condition], generation: int | None, phase: Phase) -> None:
    assert derive_phase(conditions, generation) is phase


def test_ready_is_true_when_every_step_succeeded() -> None:
    conditions = set_ready_condition(_steps(*[TRUE] * 5), generation=1, now=T1)
    ready = find_condition(conditions, PluginCondition.READY)
    assert ready is not None
    assert (ready.status, ready.reason, ready.message) == (TRUE, "AllStepsSucceeded", "")
    assert ready.observed_generation == 1


def test_ready_copies_the_failing_step() -> None:
    conditions = set_ready_condition(_steps(TRUE, FALSE), generation=1, now=T1)
    ready = find_condition(conditions, "Ready")
    assert ready is not None
    assert (ready.status, ready.reason) == (FALSE, "VerifiedReason")
    assert ready.message == "Verified: Verified detail"


def test_ready_waits_for_a_step_that_has_not_reported() -> None:
    conditions = set_ready_condition(_steps(TRUE, TRUE), generation=1, now=T1)
    ready = find_condition(conditions, "Ready")
    assert ready is not None
    assert (ready.status, ready.reason, ready.message) == (
        UNKNOWN,
        "Validating",
        "waiting for Validated",
    )


def test_ready_keeps_its_transition_time_while_the_pipeline_moves_on() -> None:
    waiting = set_ready_condition(_steps(TRUE), generation=1, now=T1)
    later = set_ready_condition(
        [c for c in _steps(TRUE, TRUE) if c.type != "Ready"] + [waiting[-1]], generation=1, now=T2
    )
    ready = find_condition(later, "Ready")
    assert ready is not None
    assert ready.status is UNKNOWN
    assert ready.last_transition_time == T1
    assert ready.reason == "Validating"
