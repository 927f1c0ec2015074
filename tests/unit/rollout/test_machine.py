"""The rollout state machine, step by step, over plain data (no cluster)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from support.rollout_samples import digest, entry, scheduler
from support.rollout_steps import T0, Cluster, crash, roll, step, with_status
from wasmgate.api.wasmscheduler import MAX_SCHEDULER_PLUGINS, RevisionOutcome, WasmScheduler
from wasmgate.rollout.config import render_config
from wasmgate.rollout.decision import Step
from wasmgate.rollout.settings import RolloutConfig


def test_nothing_rolls_until_every_layer_is_staged() -> None:
    plugins = [entry("a", "1"), entry("b", "2")]
    _, decision = step(scheduler(), Cluster(), plugins, staged=frozenset({plugins[0].layer_digest}))
    assert decision.step == Step.WAITING_FOR_STAGING
    assert decision.create_config_map is None and decision.apply_deployment is None
    assert plugins[1].layer_digest in decision.message
    rolled = next(c for c in decision.status.conditions if c.type == "RolledOut")
    assert (rolled.status, rolled.reason) == ("Unknown", "WaitingForStaging")


def test_first_rollout_starts_then_succeeds() -> None:
    cluster = Cluster()
    plugins = [entry("a", "1")]
    ws, started = step(scheduler(), cluster, plugins)
    assert started.step == Step.STARTED
    assert [(r.revision, r.outcome) for r in started.status.revisions] == [
        (1, RevisionOutcome.PROGRESSING)
    ]
    assert [(m.name, m.status, m.reason) for m in started.plugin_marks] == [
        ("a", "Unknown", "RollingOut")
    ]
    ws, waiting = step(ws, cluster, plugins, available=False)
    assert waiting.step == Step.PROGRESSING
    ws, done = step(ws, cluster, plugins, available=True)
    assert done.step == Step.SUCCEEDED
    assert done.status.active_revision == 1
    assert done.status.config_map_name == cluster.deployment_config
    assert [(m.name, m.status) for m in done.plugin_marks] == [("a", "True")]
    ready = next(c for c in done.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("True", "RolledOutAndAvailable")
    _, idle = step(ws, cluster, plugins, available=True)
    assert idle.step == Step.IDLE
    assert idle.create_config_map is None


def test_a_restarted_operator_resumes_from_status_without_a_new_revision() -> None:
    cluster = Cluster()
    plugins = [entry("a", "1")]
    ws, started = step(scheduler(), cluster, plugins)
    assert started.step == Step.STARTED
    # A new process: it knows only the stored WasmScheduler (status) and the cluster.
    restored = WasmScheduler.model_validate(ws.to_json())
    _, resumed = step(restored, cluster, plugins, available=True)
    assert resumed.step == Step.SUCCEEDED
    assert [r.revision for r in resumed.status.revisions] == [1]
    assert resumed.create_config_map is None


def test_crash_rolls_back_marks_the_changed_plugin_and_does_not_retry() -> None:
    cluster = Cluster()
    good = [entry("a", "1"), entry("b", "2")]
    ws = roll(scheduler(), cluster, good)
    first_map = cluster.deployment_config
    bad = [entry("a", "1"), entry("b", "3", generation=2)]
    ws, started = step(ws, cluster, bad)
    assert started.step == Step.STARTED
    error = (
        'noise\nE1124 "command failed" err=<\n\tinitializing plugin "b": wasm: instantiate error'
    )
    ws, failed = step(ws, cluster, bad, pods=(crash(cluster, error),))
    assert failed.step == Step.ROLLED_BACK
    assert cluster.deployment_config == first_map
    assert [(m.name, m.generation, m.status, m.reason) for m in failed.plugin_marks] == [
        ("b", 2, "False", "RolloutFailed")
    ]
    assert 'initializing plugin "b": wasm: instantiate error' in failed.plugin_marks[0].message
    assert "noise" not in failed.plugin_marks[0].message
    assert failed.status.config_map_name == first_map
    assert [(r.revision, r.outcome) for r in failed.status.revisions] == [
        (1, RevisionOutcome.ACTIVE),
        (2, RevisionOutcome.FAILED),
    ]
    # The plugin now reports the failure for generation 2: it is pinned to revision 1.
    blocked = [entry("a", "1"), entry("b", "3", generation=2, rollout_failed_generation=2)]
    ws, idle = step(ws, cluster, blocked, available=True)
    assert idle.step == Step.IDLE
    assert idle.create_config_map is None
    # Another plugin may still change while b is pinned.
    moved = [entry("a", "4", generation=2), blocked[1]]
    _, started = step(ws, cluster, moved, available=True)
    assert started.step == Step.STARTED
    assert {p.name: p.layer_digest for p in started.status.revisions[-1].plugins} == {
        "a": entry("a", "4").layer_digest,
        "b": entry("b", "2").layer_digest,
    }


def test_same_failed_config_is_not_retried_even_without_the_plugin_mark() -> None:
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1")])
    bad = [entry("a", "2", generation=2)]
    ws, _ = step(ws, cluster, bad)
    ws, failed = step(ws, cluster, bad, pods=(crash(cluster, "boom"),))
    assert failed.step == Step.ROLLED_BACK
    _, again = step(ws, cluster, bad, available=True)
    assert again.step == Step.BLOCKED
    assert again.create_config_map is None
    assert "is not retried" in again.message


def test_deadline_fails_the_rollout() -> None:
    cluster = Cluster()
    ws = roll(scheduler(rollout={"progressDeadlineSeconds": 30}), cluster, [entry("a", "1")])
    plugins = [entry("a", "2", generation=2)]
    ws, _ = step(ws, cluster, plugins)
    ws, waiting = step(ws, cluster, plugins, now=T0 + timedelta(seconds=20))
    assert waiting.step == Step.PROGRESSING
    _, late = step(ws, cluster, plugins, now=T0 + timedelta(seconds=31))
    assert late.step == Step.ROLLED_BACK
    assert "not available within 30s" in late.message


def test_without_automatic_rollback_the_failed_revision_stays() -> None:
    cluster = Cluster()
    ws = roll(scheduler(rollout={"automaticRollback": False}), cluster, [entry("a", "1")])
    plugins = [entry("a", "2", generation=2)]
    ws, _ = step(ws, cluster, plugins)
    failing = cluster.deployment_config
    _, failed = step(ws, cluster, plugins, pods=(crash(cluster, "boom"),))
    assert failed.step == Step.FAILED
    assert failed.apply_deployment is None
    assert cluster.deployment_config == failing


def test_a_newer_config_supersedes_one_still_rolling_out() -> None:
    cluster = Cluster()
    ws, _ = step(scheduler(), cluster, [entry("a", "1")])
    ws, restarted = step(ws, cluster, [entry("a", "2", generation=2)])
    assert restarted.step == Step.STARTED
    assert [(r.revision, r.outcome) for r in restarted.status.revisions] == [
        (1, RevisionOutcome.SUPERSEDED),
        (2, RevisionOutcome.PROGRESSING),
    ]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_history_is_bounded_and_old_config_maps_are_deleted(limit: int) -> None:
    cluster = Cluster()
    ws = scheduler(rollout={"revisionHistoryLimit": limit})
    for layer in "123456":
        ws = roll(ws, cluster, [entry("a", layer)])
    revisions = ws.status.revisions if ws.status else []
    assert len(revisions) == limit + 1
    assert [r.revision for r in revisions] == list(range(6 - limit, 7))
    assert sorted(cluster.config_maps) == sorted(r.config_map_name for r in revisions)


def test_scheduler_settings_change_only_the_deployment() -> None:
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1")])
    bigger = ws.model_copy(update={"spec": ws.spec.model_copy(update={"replicas": 3})})
    _, idle = step(bigger, cluster, [entry("a", "1")], available=True)
    assert idle.step == Step.IDLE
    assert idle.apply_deployment is not None
    assert idle.apply_deployment["spec"]["replicas"] == 3


def test_rendered_bytes_are_what_the_config_map_holds() -> None:
    cluster = Cluster()
    _, started = step(scheduler(), cluster, [entry("a", "1")])
    assert started.create_config_map is not None
    text = started.create_config_map["data"]["config.yaml"]
    assert render_config(yaml.safe_load(text)) == text
    assert RolloutConfig().store_root in text


def _names(entries: Any) -> list[str]:
    return [item.name for item in entries]


def test_over_the_limit_rolls_a_deterministic_subset_and_says_so() -> None:
    cluster = Cluster()
    limit = MAX_SCHEDULER_PLUGINS
    plugins = [entry(f"p{i:03}", "1") for i in range(limit + 1)]
    ws, started = step(scheduler(), cluster, list(reversed(plugins)))
    assert started.step == Step.STARTED
    assert _names(started.status.revisions[0].plugins) == _names(plugins[:limit])
    rendered = next(c for c in started.status.conditions if c.type == "ConfigRendered")
    assert (rendered.status, rendered.reason) == ("False", "PluginLimitExceeded")
    assert rendered.message == (
        f"{limit + 1} WasmPlugins name WasmScheduler wasmgate-scheduler, more than the {limit} "
        f"one scheduler loads; left out: p{limit:03} (plugins already running keep their place, "
        "the rest go in by name); name another WasmScheduler in their "
        "spec.scheduler.schedulers, or delete plugins from this one"
    )
    left = [m for m in started.plugin_marks if m.reason == "PluginLimitExceeded"]
    assert [(m.name, m.status) for m in left] == [(f"p{limit:03}", "False")]
    assert "WasmScheduler wasmgate-scheduler already loads 64 plugins" in left[0].message
    ws, done = step(ws, cluster, plugins, available=True)
    assert done.step == Step.SUCCEEDED
    rolled = {m.name: m.status for m in done.plugin_marks}
    assert rolled[f"p{limit:03}"] == "False" and rolled["p000"] == "True"
    # A status the API accepts: the limit is in the model, so this is what the apiserver checks.
    WasmScheduler.model_validate(with_status(ws, done).to_json())
    # Steady state: the next steps write nothing new (no status churn while over the limit).
    ws, idle = step(ws, cluster, plugins, available=True)
    _, again = step(ws, cluster, plugins, available=True, now=T0 + timedelta(minutes=5))
    assert (idle.step, again.step) == (Step.IDLE, Step.IDLE)
    assert again.status == idle.status


def test_a_new_plugin_over_the_limit_never_evicts_a_running_one() -> None:
    cluster = Cluster()
    limit = MAX_SCHEDULER_PLUGINS
    running = [entry(f"p{i:03}", "1") for i in range(1, limit + 1)]
    ws = roll(scheduler(), cluster, running)
    newcomer = entry("p000", "2")  # first by name, but the scheduler is full
    _, idle = step(ws, cluster, [newcomer, *running], available=True)
    assert idle.step == Step.IDLE
    assert [(m.name, m.reason) for m in idle.plugin_marks if m.status == "False"] == [
        ("p000", "PluginLimitExceeded")
    ]
    assert "p000" not in _names(idle.status.plugins)


def test_a_new_revision_does_not_rewrite_the_marks_of_plugins_it_keeps() -> None:
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1")])
    ws, started = step(ws, cluster, [entry("a", "1"), entry("b", "2")])
    assert [m.name for m in started.plugin_marks] == ["b"]
    _, done = step(ws, cluster, [entry("a", "1"), entry("b", "2")], available=True)
    assert done.step == Step.SUCCEEDED
    # The same message as after revision 1: a plugin that carries it is not written again.
    assert {m.message for m in done.plugin_marks} == {"loaded by WasmScheduler wasmgate-scheduler"}


def test_a_plugin_the_load_gate_refuses_keeps_its_live_version_and_rolls_nothing() -> None:
    # Verification went Unknown (registry unreachable after a key Secret edit): the plugin is
    # held, the scheduler keeps running what it has, no revision is started.
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1"), entry("b", "2")])
    active_map = cluster.deployment_config
    held = [entry("a", "1"), entry("b", "2", held=True)]

    ws, idle = step(ws, cluster, held, available=True)

    assert idle.step == Step.IDLE
    assert (idle.create_config_map, cluster.deployment_config) == (None, active_map)
    assert [p.name for p in idle.status.plugins] == ["a", "b"]


def test_a_held_plugin_with_a_new_version_keeps_the_old_one_running() -> None:
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1")])
    # generation 2 names new bytes that failed validation: the live version stays.
    failed_update = [entry("a", "3", generation=2, held=True, distrusted=True)]

    _, idle = step(ws, cluster, failed_update, available=True)

    assert idle.step == Step.IDLE
    assert {p.name: p.layer_digest for p in idle.status.plugins} == {"a": digest("1")}


def test_live_bytes_whose_verdict_is_withdrawn_are_rolled_out_of_the_scheduler() -> None:
    # Verified is False for the very bytes the scheduler runs (a revoked key): they go.
    cluster = Cluster()
    ws = roll(scheduler(), cluster, [entry("a", "1"), entry("b", "2")])
    withdrawn = [entry("a", "1"), entry("b", "2", held=True, distrusted=True)]

    _, started = step(ws, cluster, withdrawn, available=True)

    assert started.step == Step.STARTED
    assert [p.name for p in started.status.revisions[-1].plugins] == ["a"]


def test_a_superseded_revision_does_not_rewrite_rolling_out_marks() -> None:
    cluster = Cluster()
    ws, first = step(scheduler(), cluster, [entry("a", "1")])
    # A changed plugin supersedes the revision (one that only adds plugins would wait for it).
    _, second = step(ws, cluster, [entry("a", "3", generation=2), entry("b", "2")])
    assert second.step == Step.STARTED
    assert {(m.name, m.message) for m in second.plugin_marks} == {
        ("a", first.plugin_marks[0].message),
        ("b", first.plugin_marks[0].message),
    }
    assert first.plugin_marks[0].message == "rolling out on WasmScheduler wasmgate-scheduler"
