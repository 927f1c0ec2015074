"""A scheduler pass reports what it knows even when one of its steps fails (no cluster).

The pass's reads and writes are replaced by plain functions, so what is tested is its control
flow: which writes still happen after a failure, and what the WasmScheduler is told.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.condition import ConditionStatus
from wasmgate.api.wasmscheduler import WasmSchedulerStatus
from wasmgate.reconcile import scheduler_pass as module
from wasmgate.rollout.decision import Decision, PluginMark, Step
from wasmgate.rollout.settings import RolloutConfig
from wasmgate.runner import scheduler_snapshot
from wasmgate.runner.scheduler_cluster import KubeSchedulerCluster, unavailable

SCHEDULER = {
    "apiVersion": "wasmgate.dev/v1alpha1",
    "kind": "WasmScheduler",
    "metadata": {"name": "s", "generation": 1, "uid": "u"},
    "spec": {"image": "registry.example/scheduler:v1"},
}


def _plugin(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"scheduler": {"schedulers": ["s"]}}}


@contextmanager
def _no_lock(_: str) -> Iterator[None]:
    yield


class Cluster:
    """What the pass reads, and a log of what it did."""

    def __init__(self, scheduler: dict[str, Any] | None = None) -> None:
        self.items = {
            "wasmschedulers": [scheduler or SCHEDULER],
            "wasmplugins": [_plugin("a"), _plugin("b"), _plugin("c")],
            "wasmnodecaches": [],
        }
        self.staged: list[str] = []
        self.reported: list[str] = []
        self.rolled_with: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch, decision: Decision | Exception) -> None:
        class Core:
            def __init__(self, _: Any) -> None:
                pass

            def list_node(self) -> Any:
                return type("Listing", (), {"items": []})()

        def write_staging(_: Any, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if name == "b":
                raise unavailable(ApiException(status=500, reason="Internal Server Error"))
            self.staged.append(name)
            return dict(kwargs["listed"])

        def rollout_step(_: Any, __: Any, entries: Any, *args: Any, **kwargs: Any) -> Decision:
            self.rolled_with = sorted(kwargs["known"].plugins)
            if isinstance(decision, Exception):
                raise decision
            return decision

        monkeypatch.setattr(scheduler_snapshot, "list_items", lambda _, plural: self.items[plural])
        monkeypatch.setattr(scheduler_snapshot.client, "CoreV1Api", Core)
        monkeypatch.setattr(module, "write_staging", write_staging)
        monkeypatch.setattr(module, "rollout_step", rollout_step)
        monkeypatch.setattr(
            module,
            "report_failure",
            lambda _, __, message, ___: self.reported.append(message),
        )


def _decision(**condition: Any) -> Decision:
    status = WasmSchedulerStatus.model_validate(
        {
            "conditions": [
                {
                    "type": "ConfigRendered",
                    "observedGeneration": 1,
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                    **condition,
                }
            ]
        }
    )
    return Decision(step=Step.IDLE, status=status)


RENDERED = {"status": "True", "reason": "Rendered", "message": "x loads 3 plugins"}
OVER = {"status": "False", "reason": "PluginLimitExceeded", "message": "65 WasmPlugins name s"}


def test_one_plugins_failed_staging_write_leaves_the_others_and_the_rollout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = Cluster()
    cluster.install(monkeypatch, _decision(**RENDERED))
    result = module.scheduler_pass(KubeSchedulerCluster(object()), "s", RolloutConfig(), _no_lock)  # type: ignore[arg-type]
    assert result is not None
    assert cluster.staged == ["a", "c"]
    assert cluster.rolled_with == ["a", "b", "c"]
    assert result.staging_failures == ["b: the Kubernetes API answered 500 Internal Server Error"]
    assert result.events == []


def test_a_failed_rollout_step_is_written_to_the_scheduler_then_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = Cluster()
    cluster.install(monkeypatch, ValueError("List should have at most 64 items\nmore detail"))
    with pytest.raises(ValueError, match="at most 64"):
        module.scheduler_pass(KubeSchedulerCluster(object()), "s", RolloutConfig(), _no_lock)  # type: ignore[arg-type]
    assert cluster.staged == ["a", "c"]
    assert cluster.reported == [
        "a rollout step failed and is retried: ValueError: List should have at most 64 items"
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(RENDERED, OVER, ("Warning", "PluginLimitExceeded"), id="goes_over"),
        pytest.param(OVER, OVER, None, id="stays_over_quietly"),
        pytest.param(OVER, RENDERED, ("Normal", "Rendered"), id="back_within"),
        pytest.param(RENDERED, RENDERED, None, id="never_over"),
    ],
)
def test_the_scheduler_gets_an_event_when_its_limit_state_changes(
    monkeypatch: pytest.MonkeyPatch,
    before: dict[str, str],
    after: dict[str, str],
    expected: tuple[str, str] | None,
) -> None:
    stored = {**SCHEDULER, "status": _decision(**before).status.to_json()}
    cluster = Cluster(stored)
    cluster.install(monkeypatch, _decision(**after))
    result = module.scheduler_pass(KubeSchedulerCluster(object()), "s", RolloutConfig(), _no_lock)  # type: ignore[arg-type]
    assert result is not None
    seen = [(body["kind"], event.type, event.reason) for body, event in result.events]
    assert seen == ([("WasmScheduler", *expected)] if expected else [])
    if expected == ("Warning", "PluginLimitExceeded"):
        assert result.events[0][1].message == OVER["message"]


def test_describe_keeps_one_line() -> None:
    assert module.describe(unavailable(ApiException(status=403, reason="Forbidden"))) == (
        "the Kubernetes API answered 403 Forbidden"
    )
    assert module.describe(RuntimeError("")) == "RuntimeError: "


def _validated(name: str, version: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "generation": 1, "resourceVersion": version},
        "spec": {"scheduler": {"schedulers": ["gone"]}},
        "status": {
            "digest": "sha256:" + "b" * 64,
            "layerDigest": "sha256:" + "a" * 64,
            "conditions": [
                {
                    "type": type_,
                    "status": "True",
                    "reason": type_,
                    "observedGeneration": 1,
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
                for type_ in ("Resolved", "Verified", "Validated")
            ],
        },
    }


MERGED = "merged"


class Custom:
    """CustomObjectsApi stand-in: records calls, answers from a script."""

    calls: ClassVar[list[tuple[str, Any]]] = []
    answers: ClassVar[list[Any]] = []

    def __init__(self, _: Any) -> None:
        pass

    def _answer(self, method: str, body: Any) -> Any:
        Custom.calls.append((method, body))
        answer = Custom.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer == MERGED:  # what the apiserver answers a status patch: the whole object
            return {"metadata": {"name": "p"}, "status": body["status"]}
        return answer

    def patch_cluster_custom_object_status(self, *args: Any) -> Any:
        return self._answer("patch", args[-1])

    def get_cluster_custom_object(self, *args: Any) -> Any:
        return self._answer("get", None)


@pytest.mark.parametrize(
    ("answers", "calls"),
    [
        pytest.param([MERGED], ["patch"], id="one_conditional_write"),
        pytest.param(
            [ApiException(status=409), _validated("p", "42"), MERGED],
            ["patch", "get", "patch"],
            id="conflict_reads_again",
        ),
    ],
)
def test_a_staging_change_on_a_listed_plugin_is_written_conditionally(
    monkeypatch: pytest.MonkeyPatch, answers: list[Any], calls: list[str]
) -> None:
    monkeypatch.setattr(client, "CustomObjectsApi", Custom)
    monkeypatch.setattr(Custom, "calls", [])
    monkeypatch.setattr(Custom, "answers", list(answers))
    events: list[Any] = []
    states: dict[str, dict[str, int]] = {}
    listed = _validated("p", "41")
    module.write_staging(
        KubeSchedulerCluster(object()), "p", {}, [], [], _no_lock, events, listed, states
    )  # type: ignore[arg-type]
    assert states == {"p": {"Ready": 0, "Failed": 0, "Pulling": 0}}  # no scheduler, no nodes
    assert [method for method, _ in Custom.calls] == calls
    first = Custom.calls[0][1]
    assert first["metadata"] == {"resourceVersion": "41"}
    staged = next(c for c in first["status"]["conditions"] if c["type"] == "Staged")
    assert staged["reason"] == "SchedulerNotFound"
    assert [event.reason for _, event in events] == ["SchedulerNotFound"]
    if len(calls) > 1:
        assert "metadata" not in Custom.calls[-1][1]


def test_an_unchanged_listed_plugin_costs_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "CustomObjectsApi", Custom)
    monkeypatch.setattr(Custom, "calls", [])
    monkeypatch.setattr(Custom, "answers", [MERGED])
    listed = _validated("p", "41")
    first = module.write_staging(
        KubeSchedulerCluster(object()), "p", {}, [], [], _no_lock, listed=listed
    )  # type: ignore[arg-type]
    assert first is not None
    Custom.calls.clear()
    staged = {**listed, "status": first["status"]}
    again = module.write_staging(
        KubeSchedulerCluster(object()), "p", {}, [], [], _no_lock, listed=staged
    )  # type: ignore[arg-type]
    assert Custom.calls == []
    assert again == staged


def test_with_the_watches_snapshot_a_pass_lists_nothing_and_reads_its_scheduler_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = Cluster()
    cluster.install(monkeypatch, _decision(**RENDERED))

    def no_list(*_: Any) -> Any:
        raise AssertionError("a pass with a snapshot must not list")

    fresh = {**SCHEDULER, "status": _decision(**OVER).status.to_json()}
    reads: list[str] = []

    def read(_: Any, plural: str, name: str) -> dict[str, Any]:
        reads.append(f"{plural}/{name}")
        return fresh

    monkeypatch.setattr(scheduler_snapshot, "list_items", no_list)
    monkeypatch.setattr(scheduler_snapshot, "read_item", read)
    snapshot = module.Snapshot(
        schedulers=[SCHEDULER],  # stale: without the status the last step wrote
        plugins=cluster.items["wasmplugins"],
        nodes=[],
        node_caches=[],
    )
    result = module.scheduler_pass(
        KubeSchedulerCluster(object()), "s", RolloutConfig(), _no_lock, snapshot
    )  # type: ignore[arg-type]
    assert result is not None
    assert reads == ["wasmschedulers/s"]
    assert cluster.rolled_with == ["a", "b", "c"]
    # Judged against the fresh status (over the limit before): back within it, one Event.
    assert [(e.type, e.reason) for _, e in result.events] == [("Normal", "Rendered")]


def _staged_status(status: str, reason: str) -> dict[str, Any]:
    condition = {
        "type": "Staged",
        "status": status,
        "reason": reason,
        "message": f"{reason} message",
        "observedGeneration": 1,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    return {"conditions": [condition]}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (("Unknown", "Waiting"), ("Unknown", "Pulling"), None),
        (("Unknown", "Pulling"), ("True", "AllNodesStaged"), None),
        (("Unknown", "Waiting"), ("True", "AllNodesStaged"), None),
        (("Unknown", "Pulling"), ("False", "StoreFull"), ("Warning", "StoreFull")),
        (("False", "StoreFull"), ("True", "AllNodesStaged"), ("Normal", "AllNodesStaged")),
        (("Unknown", "Pulling"), ("Unknown", "NoTargetNodes"), ("Normal", "NoTargetNodes")),
        (("Unknown", "NoTargetNodes"), ("True", "AllNodesStaged"), ("Normal", "AllNodesStaged")),
        (("True", "AllNodesStaged"), ("True", "AllNodesStaged"), None),
    ],
    ids=[
        "pulling", "staged", "staged-at-once", "failed", "recovered", "no-nodes",
        "nodes-came", "unchanged",
    ],
)  # fmt: skip
def test_staging_posts_events_off_the_ordinary_path_only(
    before: tuple[str, str], after: tuple[str, str], expected: tuple[str, str] | None
) -> None:
    event = module.staging_event(_staged_status(*before), _staged_status(*after))
    assert (None if event is None else (event.type, event.reason)) == expected


def test_a_finished_rollout_posts_rolled_out_only_to_plugins_without_the_mark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mark = PluginMark("a", 1, ConditionStatus.TRUE, "RolledOut", "loaded by WasmScheduler s")
    cluster = Cluster()
    carried = {
        "type": "RolledOut", "status": "True", "reason": "RolledOut",
        "message": "loaded by WasmScheduler s", "observedGeneration": 1,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    cluster.items["wasmplugins"] = [
        {**_plugin("a"), "metadata": {"name": "a", "generation": 1},
         "status": {"conditions": [carried]}},
        {**_plugin("c"), "metadata": {"name": "c", "generation": 1}},
    ]  # fmt: skip
    finished = replace(
        _decision(**RENDERED),
        step=Step.SUCCEEDED,
        plugin_marks=(mark, replace(mark, name="c")),
    )
    cluster.install(monkeypatch, finished)

    result = module.scheduler_pass(KubeSchedulerCluster(object()), "s", RolloutConfig(), _no_lock)  # type: ignore[arg-type]

    assert result is not None
    rolled = [(body["metadata"]["name"], e.reason) for body, e in result.events]
    assert rolled == [("c", "RolledOut")]
