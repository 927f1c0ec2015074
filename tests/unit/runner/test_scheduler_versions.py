"""A scheduler pass reads its WasmScheduler only when the watch has not caught up with the
version this operator last wrote or read."""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes import client

from wasmgate.runner import rollout_writes
from wasmgate.runner import scheduler_snapshot as snapshots
from wasmgate.runner.scheduler_cluster import KubeSchedulerCluster, SchedulerVersions


def _scheduler(version: str) -> dict[str, Any]:
    return {"metadata": {"name": "s", "resourceVersion": version}, "status": {"v": version}}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def read_scheduler(api: object, name: str) -> dict[str, Any]:
        asked.append(name)
        return _scheduler("7")

    monkeypatch.setattr(snapshots, "read_scheduler", read_scheduler)
    monkeypatch.setattr(rollout_writes, "write_scheduler_status", lambda api, name, status: "9")
    return asked


def _cluster(versions: SchedulerVersions, watched_version: str | None) -> KubeSchedulerCluster:
    watched = {} if watched_version is None else {"s": _scheduler(watched_version)}
    return KubeSchedulerCluster(cast(client.ApiClient, object()), None, versions, watched)


def test_the_first_pass_reads_and_remembers_the_version(reads: list[str]) -> None:
    versions: SchedulerVersions = {}
    assert _cluster(versions, "7").read_scheduler("s") == _scheduler("7")
    assert reads == ["s"] and versions == {"s": "7"}


def test_a_watch_at_the_known_version_costs_no_request(reads: list[str]) -> None:
    versions: SchedulerVersions = {"s": "7"}
    assert _cluster(versions, "7").read_scheduler("s") == _scheduler("7")
    assert reads == []


def test_a_watch_behind_our_own_write_is_not_trusted(reads: list[str]) -> None:
    versions: SchedulerVersions = {"s": "7"}
    cluster = _cluster(versions, "7")
    cluster.write_scheduler_status("s", {"phase": "x"})
    assert versions == {"s": "9"}
    assert _cluster(versions, "7").read_scheduler("s") == _scheduler("7")
    assert reads == ["s"]


def test_without_the_watch_the_scheduler_is_read(reads: list[str]) -> None:
    _cluster({"s": "7"}, None).read_scheduler("s")
    assert reads == ["s"]
