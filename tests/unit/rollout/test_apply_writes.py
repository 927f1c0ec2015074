"""Compare, then write: a rollout step that changes nothing sends no request (no cluster)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from support.rollout_samples import entry, scheduler
from wasmgate.api.condition import ConditionStatus
from wasmgate.api.wasmscheduler import WasmScheduler, WasmSchedulerStatus
from wasmgate.rollout import step
from wasmgate.rollout.compare import holds
from wasmgate.rollout.decision import Decision, PluginMark, Step
from wasmgate.rollout.deployment import build_deployment
from wasmgate.rollout.deps import Known
from wasmgate.rollout.machine import step_failed
from wasmgate.rollout.marks import carries
from wasmgate.rollout.settings import RolloutConfig
from wasmgate.runner import plugin_status_writes, rollout_reads, rollout_writes, scheduler_snapshot
from wasmgate.runner.scheduler_cluster import KubeSchedulerCluster

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "desired", "expected"),
    [
        pytest.param({"a": 1, "defaulted": 2}, {"a": 1}, True, id="apiserver_defaults_ignored"),
        pytest.param({"a": {"b": [{"c": 1, "d": 0}]}}, {"a": {"b": [{"c": 1}]}}, True, id="deep"),
        pytest.param({"a": [1, 2]}, {"a": [1]}, False, id="list_lost_an_item"),
        pytest.param({"a": 1}, {"a": 2}, False, id="value_changed"),
        pytest.param({}, {"a": None}, False, id="missing_key"),
        pytest.param({"a": "1"}, {"a": 1}, False, id="types_differ"),
    ],
)
def test_holds(current: Any, desired: Any, expected: bool) -> None:
    assert holds(current, desired) is expected


class Recorder:
    """Stands in for the kubernetes client module: every API method call is recorded."""

    def install(self, monkeypatch: pytest.MonkeyPatch) -> KubeSchedulerCluster:
        """Replace the client in the runner's modules; the cluster a step is given."""
        for module in (plugin_status_writes, rollout_reads, rollout_writes, scheduler_snapshot):
            monkeypatch.setattr(module, "client", self)
        return KubeSchedulerCluster(object())  # type: ignore[arg-type]

    def __init__(self, responses: dict[str, Any] | None = None) -> None:
        self.calls: list[str] = []
        self.bodies: list[Any] = []
        self.responses = responses or {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("V1"):
            return _Model
        return lambda *_: _Api(self)


class _Model:
    @staticmethod
    def model_validate(body: Any) -> Any:
        return body


class _Api:
    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._recorder.calls.append(method)
            self._recorder.bodies.append(args[-1] if args else None)
            answer = self._recorder.responses.get(method, {})
            if isinstance(answer, list):  # one answer per call
                answer = answer.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return copy.deepcopy(answer)

        return call


def _idle(ws: WasmScheduler) -> tuple[WasmScheduler, Decision, dict[str, Any]]:
    status = WasmSchedulerStatus(observed_generation=1, ready_replicas=1)
    ws = ws.model_copy(update={"status": status})
    wanted = build_deployment(ws, "wasmgate-scheduler-config-0123456789abcdef")
    mark = PluginMark("a", 1, ConditionStatus.TRUE, "RolledOut", "loaded by x")
    decision = Decision(
        step=Step.IDLE, status=status, apply_deployment=wanted, plugin_marks=(mark,)
    )
    return ws, decision, wanted


def _carrying(mark_message: str) -> dict[str, Any]:
    condition = {
        "type": "RolledOut",
        "status": "True",
        "reason": "RolledOut",
        "message": mark_message,
        "observedGeneration": 1,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    return {"metadata": {"name": "a", "generation": 1}, "status": {"conditions": [condition]}}


def _listed(mark_message: str) -> dict[str, Any]:
    """As a list returns it: with a resourceVersion to make a write conditional on."""
    plugin = _carrying(mark_message)
    plugin["metadata"]["resourceVersion"] = "41"
    return plugin


def _execute(
    monkeypatch: pytest.MonkeyPatch,
    ws: WasmScheduler,
    decision: Decision,
    responses: dict[str, Any] | None = None,
    **kwargs: Any,
) -> list[str]:
    recorder = Recorder(responses)
    step.execute(
        recorder.install(monkeypatch),
        ws,
        decision,
        now=NOW,
        settings=RolloutConfig(),
        **kwargs,
    )
    return recorder.calls


def test_an_unchanged_step_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    ws, decision, wanted = _idle(scheduler())
    stored = copy.deepcopy(wanted)
    stored["spec"]["progressDeadlineSeconds"] = 600  # defaulted by the apiserver
    stored["status"] = {"readyReplicas": 1}
    known = Known({"a": _carrying("loaded by x")})
    assert _execute(monkeypatch, ws, decision, deployment_body=stored, known=known) == []


def test_only_what_changed_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    ws, decision, wanted = _idle(scheduler())
    stored = copy.deepcopy(wanted)
    stored["spec"]["replicas"] = 3  # someone scaled it
    older = _carrying("loaded by an older revision")
    known = Known({"a": older})
    responses = {"get_cluster_custom_object": older}
    calls = _execute(monkeypatch, ws, decision, responses, deployment_body=stored, known=known)
    # The Deployment exists (it was just read): patched without a create that would answer 409;
    # the plugin's mark is re-read under its lock before it is written.
    assert calls == [
        "patch_namespaced_deployment",
        "get_cluster_custom_object",
        "patch_cluster_custom_object_status",
    ]


def test_a_changed_status_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    ws, decision, _ = _idle(scheduler())
    decision = Decision(
        step=Step.IDLE, status=decision.status.model_copy(update={"ready_replicas": 0})
    )
    assert _execute(monkeypatch, ws, decision) == ["patch_cluster_custom_object_status"]


def test_a_failed_step_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    cluster = recorder.install(monkeypatch)
    ws = scheduler()
    message = "a rollout step failed and is retried: the Kubernetes API answered 500 boom"
    step.report_failure(cluster, ws.to_json(), message, NOW)
    assert recorder.calls == ["patch_cluster_custom_object_status"]
    failed = ws.model_copy(update={"status": step_failed(ws, message, NOW)})
    step.report_failure(cluster, failed.to_json(), message, NOW)
    assert recorder.calls == ["patch_cluster_custom_object_status"]
    rolled = {c.type: (c.status, c.reason, c.message) for c in failed.status.conditions}  # type: ignore[union-attr]
    assert rolled["RolledOut"] == ("Unknown", "RolloutStepFailed", message)
    assert rolled["Ready"] == ("Unknown", "RolloutStepFailed", message)


def test_carries_needs_the_current_generation() -> None:
    mark = PluginMark(entry("a").name, 2, ConditionStatus.TRUE, "RolledOut", "loaded by x")
    plugin = _carrying("loaded by x")
    assert carries(plugin, mark)
    plugin["metadata"]["generation"] = 2
    assert not carries(plugin, mark)


def test_a_mark_on_a_listed_plugin_is_one_conditional_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, decision, _ = _idle(scheduler())
    decision = Decision(step=Step.IDLE, status=decision.status, plugin_marks=decision.plugin_marks)
    recorder = Recorder()
    cluster = recorder.install(monkeypatch)
    known = Known({"a": _listed("loaded by an older revision")})
    step.execute(cluster, ws, decision, now=NOW, settings=RolloutConfig(), known=known)
    assert recorder.calls == ["patch_cluster_custom_object_status"]
    written = recorder.bodies[0]
    assert written["metadata"] == {"resourceVersion": "41"}
    rolled = next(c for c in written["status"]["conditions"] if c["type"] == "RolledOut")
    assert (rolled["status"], rolled["message"]) == ("True", "loaded by x")


def test_a_conflict_reads_the_plugin_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ws, decision, _ = _idle(scheduler())
    decision = Decision(step=Step.IDLE, status=decision.status, plugin_marks=decision.plugin_marks)
    recorder = Recorder(
        {
            "patch_cluster_custom_object_status": [ApiException(status=409), {}],
            "get_cluster_custom_object": _listed("loaded by an older revision"),
        }
    )
    cluster = recorder.install(monkeypatch)
    known = Known({"a": _listed("loaded by an older revision")})
    step.execute(cluster, ws, decision, now=NOW, settings=RolloutConfig(), known=known)
    assert recorder.calls == [
        "patch_cluster_custom_object_status",
        "get_cluster_custom_object",
        "patch_cluster_custom_object_status",
    ]
    assert "metadata" not in recorder.bodies[-1]
