"""Rollout batching: a burst of plugin changes rolls out as one revision, not one per batch."""

from __future__ import annotations

from datetime import timedelta

from support.rollout_samples import entry, scheduler
from support.rollout_steps import T0, Cluster, roll, step
from wasmgate.api.wasmscheduler import RevisionOutcome
from wasmgate.rollout.batching import BATCHING, QUIET_SECONDS, batch_wait, only_adds
from wasmgate.rollout.decision import Step
from wasmgate.rollout.settings import RolloutConfig

WINDOW = RolloutConfig().batch_seconds


def _rolled_out(decision_status: object) -> tuple[str, str]:
    conditions = decision_status.conditions
    rolled = next(c for c in conditions if c.type == "RolledOut")
    return rolled.status, rolled.reason


def test_a_ready_change_waits_while_other_plugins_are_in_the_pipeline() -> None:
    ready = [entry("a", "1", ready_since=T0)]

    _, waiting = step(scheduler(), Cluster(), ready, now=T0 + timedelta(seconds=1), settling={"b"})

    assert waiting.step == Step.WAITING_FOR_PLUGINS
    assert waiting.create_config_map is None and waiting.apply_deployment is None
    assert _rolled_out(waiting.status) == ("Unknown", BATCHING)
    assert "1 plugins still in the pipeline (b)" in waiting.message
    assert waiting.requeue_after is not None and 0 < waiting.requeue_after <= WINDOW


def test_the_wait_ends_when_the_pipeline_is_done_and_changes_stopped_coming() -> None:
    ready = [entry("a", "1", ready_since=T0), entry("b", "2", ready_since=T0)]
    quiet = T0 + timedelta(seconds=QUIET_SECONDS)

    _, started = step(scheduler(), Cluster(), ready, now=quiet)

    assert started.step == Step.STARTED
    assert [p.name for p in started.status.revisions[-1].plugins] == ["a", "b"]


def test_changes_still_becoming_ready_wait_even_with_an_empty_pipeline() -> None:
    # Applied one by one, each plugin may clear the pipeline before the next one arrives.
    later = T0 + timedelta(seconds=5)
    ready = [entry("a", "1", ready_since=T0), entry("b", "2", ready_since=later)]

    _, waiting = step(scheduler(), Cluster(), ready, now=T0 + timedelta(seconds=6))

    assert waiting.step == Step.WAITING_FOR_PLUGINS
    assert "the last became ready 1s ago" in waiting.message
    assert waiting.requeue_after is not None and waiting.requeue_after <= QUIET_SECONDS


def test_the_wait_is_bounded_by_the_batch_window() -> None:
    ready = [entry("a", "1", ready_since=T0)]
    late = T0 + timedelta(seconds=WINDOW + 1)

    _, started = step(scheduler(), Cluster(), ready, now=late, settling={"stuck"})

    assert started.step == Step.STARTED


def test_a_zero_window_rolls_each_change_at_once() -> None:
    ready = [entry("a", "1", ready_since=T0)]

    _, started = step(
        scheduler(), Cluster(), ready, settling={"b"}, settings=RolloutConfig(batch_seconds=0)
    )
    assert started.step == Step.STARTED

    assert started.step == Step.STARTED


def test_a_removal_does_not_wait() -> None:
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1"), entry("b", "2")])

    _, started = step(ws, cluster, [entry("a", "1")], available=True, settling={"c"})

    assert started.step == Step.STARTED
    assert [p.name for p in started.status.revisions[-1].plugins] == ["a"]


def test_additions_wait_for_the_revision_rolling_out() -> None:
    cluster = Cluster()
    ws, first = step(scheduler(), cluster, [entry("a", "1")])
    both = [entry("a", "1"), entry("b", "2")]

    ws, still = step(ws, cluster, both)

    assert still.step == Step.PROGRESSING
    assert [(r.revision, r.outcome) for r in still.status.revisions] == [
        (1, RevisionOutcome.PROGRESSING)
    ]
    assert still.create_config_map is None

    ws, done = step(ws, cluster, both, available=True)

    assert done.step == Step.SUCCEEDED
    # Only what revision 1 loads is marked rolled out; b waits for the next revision.
    assert {mark.name for mark in done.plugin_marks} == {"a"}

    _, next_one = step(ws, cluster, both, available=True)

    assert next_one.step == Step.STARTED
    assert [p.name for p in next_one.status.revisions[-1].plugins] == ["a", "b"]
    assert {mark.name for mark in next_one.plugin_marks} == {"b"}
    assert (
        first.status.revisions[0].config_map_name != next_one.status.revisions[-1].config_map_name
    )


def test_a_scheduler_setting_change_still_supersedes_a_rolling_revision() -> None:
    cluster = Cluster()
    ws, _ = step(scheduler(), cluster, [entry("a", "1")])
    # The profile's scheduler name is part of the rendered configuration.
    changed = scheduler(schedulerName="wasm-scheduler-two")

    _, restarted = step(changed.model_copy(update={"status": ws.status}), cluster,
                        [entry("a", "1"), entry("b", "2")])  # fmt: skip

    assert restarted.step == Step.STARTED
    assert [(r.revision, r.outcome) for r in restarted.status.revisions] == [
        (1, RevisionOutcome.SUPERSEDED),
        (2, RevisionOutcome.PROGRESSING),
    ]


def test_batch_wait_names_what_it_waits_for_and_how_long() -> None:
    changed = [entry("a", "1", ready_since=T0)]
    settling = [f"p{index}" for index in range(7)]

    wait = batch_wait(changed, settling, T0 + timedelta(seconds=10), window_seconds=30)

    assert wait is not None
    assert wait.seconds_left == 20
    assert "7 plugins still in the pipeline (p0, p1, p2, p3, p4 ...)" in wait.message


def test_a_change_of_unknown_readiness_never_waits() -> None:
    assert batch_wait([entry("a", "1")], {"b"}, T0, window_seconds=30) is None


def test_only_adds_needs_every_carried_plugin_unchanged_and_one_more() -> None:
    carried = {"a": entry("a", "1")}
    assert only_adds(carried, [entry("a", "1"), entry("b", "2")])
    assert not only_adds(carried, [entry("a", "1")])
    assert not only_adds(carried, [entry("a", "3"), entry("b", "2")])
    assert not only_adds(carried, [entry("b", "2"), entry("c", "3")])
