"""The orchestrator's decisions: what runs, what is skipped, what is retried, what waits."""

from __future__ import annotations

import pytest

from support.pipeline_helpers import DIGEST_A, DIGEST_B, LATER, NOW, Script, condition, view
from wasmgate.errors import DryRunTrapped, RegistryUnavailable, SignatureMissing, WasmgateError
from wasmgate.reconcile.pipeline import (
    Outcome,
    PipelineEvent,
    StageFailed,
    one_per_pass,
    run_pipeline,
)


def _first_pass(script: Script) -> Outcome:
    return run_pipeline(view({}), script.stages(), recorded={}, now=NOW)


def test_a_new_plugin_runs_every_stage_in_order_and_waits_for_staging() -> None:
    script = Script()
    outcome = _first_pass(script)
    assert script.calls == ["resolve", "verify", "validate"]
    assert outcome.ran == ("resolve", "verify", "validate")
    assert outcome.status["digest"] == DIGEST_A
    assert [
        condition(outcome.status, t)["status"] for t in ("Resolved", "Verified", "Validated")
    ] == [
        "True",
        "True",
        "True",
    ]
    assert condition(outcome.status, "Verified")["message"] == f"{DIGEST_A} ok"
    assert outcome.status["phase"] == "Staging"
    assert condition(outcome.status, "Ready")["reason"] == "Staging"
    assert outcome.status["observedGeneration"] == 1
    # One Event for the pass, named by its last success, telling each stage's result.
    [event] = outcome.events
    assert (event.type, event.reason) == ("Normal", "Validated")
    stages = ("Resolved", "Verified", "Validated")
    assert event.message == "; ".join(condition(outcome.status, c)["message"] for c in stages)
    assert outcome.retry is None


def test_a_pass_with_unchanged_inputs_runs_nothing_and_posts_nothing() -> None:
    first = _first_pass(Script())
    script = Script()
    again = run_pipeline(view(first.status), script.stages(), recorded=first.inputs, now=LATER)
    assert script.calls == []
    assert again.ran == ()
    assert again.events == []
    assert again.status["conditions"] == first.status["conditions"]


def test_without_recorded_inputs_a_settled_status_is_not_trusted() -> None:
    first = _first_pass(Script())
    script = Script()
    run_pipeline(view(first.status), script.stages(), recorded={}, now=LATER)
    assert script.calls == ["resolve", "verify", "validate"]


def test_changed_trust_material_reruns_only_verification() -> None:
    first = _first_pass(Script())
    script = Script()
    outcome = run_pipeline(
        view(first.status, trust="t2"), script.stages(), recorded=first.inputs, now=LATER
    )
    assert script.calls == ["verify"]
    # Same result, same message: the condition keeps its transition time and posts no event.
    assert condition(outcome.status, "Verified") == condition(first.status, "Verified")
    assert outcome.events == []
    assert outcome.inputs["verify"] != first.inputs["verify"]


@pytest.mark.parametrize(
    ("new_digest", "expected_calls", "expected_events"),
    [
        (DIGEST_A, ["resolve"], []),
        (DIGEST_B, ["resolve", "verify", "validate"], ["Verified"]),
    ],
    ids=["tag-unchanged", "tag-moved"],
)
def test_a_forced_re_resolve_verifies_only_a_new_digest(
    new_digest: str, expected_calls: list[str], expected_events: list[str]
) -> None:
    first = _first_pass(Script())
    script = Script(digest=new_digest)
    outcome = run_pipeline(
        view(first.status), script.stages(), recorded=first.inputs, now=LATER, rerun=("resolve",)
    )
    assert script.calls == expected_calls
    assert outcome.status["digest"] == new_digest
    assert [e.reason for e in outcome.events] == expected_events


def test_a_new_generation_re_resolves_and_keeps_verification_of_the_same_digest() -> None:
    first = _first_pass(Script())
    script = Script()
    outcome = run_pipeline(
        view(first.status, generation=2), script.stages(), recorded=first.inputs, now=LATER
    )
    assert script.calls == ["resolve", "validate"]
    assert condition(outcome.status, "Verified")["observedGeneration"] == 2
    assert outcome.status["phase"] == "Staging"


def test_a_temporary_failure_keeps_later_results_and_asks_for_a_retry() -> None:
    first = _first_pass(Script())
    down = RegistryUnavailable("registry.example: connection refused")
    script = Script(errors={"resolve": down})
    outcome = run_pipeline(
        view(first.status), script.stages(), recorded=first.inputs, now=LATER, rerun=("resolve",)
    )
    assert script.calls == ["resolve"]
    assert outcome.retry is down
    resolved = condition(outcome.status, "Resolved")
    assert (resolved["status"], resolved["reason"], resolved["message"]) == (
        "Unknown",
        "RegistryUnavailable",
        "registry.example: connection refused",
    )
    assert condition(outcome.status, "Validated")["status"] == "True"
    assert outcome.status["digest"] == DIGEST_A
    assert outcome.status["phase"] == "Resolving"
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "RegistryUnavailable")]


def test_a_repeated_temporary_failure_posts_one_event() -> None:
    down = RegistryUnavailable("connection refused")
    first = run_pipeline(view({}), Script(errors={"resolve": down}).stages(), recorded={}, now=NOW)
    again = run_pipeline(
        view(first.status), Script(errors={"resolve": down}).stages(), recorded={}, now=LATER
    )
    assert again.events == []
    assert condition(again.status, "Resolved")["lastTransitionTime"] == "2026-11-24T12:00:00Z"


def test_a_permanent_failure_stops_resets_later_stages_and_waits_for_a_change() -> None:
    first = _first_pass(Script())
    unsigned = SignatureMissing(f"{DIGEST_A} is not signed")
    script = Script(errors={"verify": unsigned})
    failed = run_pipeline(
        view(first.status, trust="t2"), script.stages(), recorded=first.inputs, now=LATER
    )
    assert script.calls == ["verify"]
    assert failed.retry is None
    verified = condition(failed.status, "Verified")
    assert (verified["status"], verified["reason"]) == ("False", "SignatureMissing")
    validated = condition(failed.status, "Validated")
    assert (validated["status"], validated["reason"], validated["message"]) == (
        "Unknown",
        "Waiting",
        "waiting for Verified",
    )
    assert failed.status["signature"] is None
    assert failed.status["validation"] is None
    assert "validate" not in failed.inputs
    assert failed.status["phase"] == "Failed"
    assert condition(failed.status, "Ready")["reason"] == "SignatureMissing"

    retry_script = Script(errors={"verify": unsigned})
    waiting = run_pipeline(
        view(failed.status, trust="t2"),
        retry_script.stages(),
        recorded=failed.inputs,
        now=LATER,
    )
    assert retry_script.calls == []
    fixed = Script()
    run_pipeline(view(failed.status, trust="t3"), fixed.stages(), recorded=failed.inputs, now=LATER)
    assert fixed.calls == ["verify", "validate"]
    assert waiting.status["phase"] == "Failed"


def test_a_stage_failure_can_still_record_status() -> None:
    trapped = DryRunTrapped("filter trapped: unreachable")
    script = Script(
        errors={"validate": StageFailed(trapped, {"validation": {"exports": ["filter"]}})}
    )
    outcome = run_pipeline(view({}), script.stages(), recorded={}, now=NOW)
    validated = condition(outcome.status, "Validated")
    assert (validated["status"], validated["reason"], validated["message"]) == (
        "False",
        "DryRunTrapped",
        "filter trapped: unreachable",
    )
    assert outcome.status["validation"] == {"exports": ["filter"]}
    assert outcome.events[-1].type == "Warning"
    assert outcome.events[-1].message == "Validated: filter trapped: unreachable"


def test_an_unexpected_exception_is_not_swallowed() -> None:
    script = Script(errors={"resolve": KeyError("bug")})
    with pytest.raises(KeyError):
        run_pipeline(view({}), script.stages(), recorded={}, now=NOW)


def test_a_plain_wasmgate_error_is_temporary() -> None:
    script = Script(errors={"verify": WasmgateError("something odd")})
    outcome = run_pipeline(view({}), script.stages(), recorded={}, now=NOW)
    assert outcome.retry is not None
    assert condition(outcome.status, "Verified")["status"] == "Unknown"
    assert condition(outcome.status, "Verified")["reason"] == "InternalError"
    assert outcome.status["phase"] == "Verifying"


def test_successes_of_a_pass_merge_into_one_event_and_warnings_stay_apart() -> None:
    resolved = PipelineEvent("Normal", "Resolved", "r")
    verified = PipelineEvent("Normal", "Verified", "v")
    refused = PipelineEvent("Warning", "DryRunTrapped", "t")
    assert one_per_pass([resolved, verified, refused]) == [
        PipelineEvent("Normal", "Verified", "r; v"),
        refused,
    ]
    assert one_per_pass([refused, resolved]) == [refused, resolved]
    assert one_per_pass([]) == []
