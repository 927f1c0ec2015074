"""The rollout waits, with a message naming the fix, while the scheduler ServiceAccount that
deploy/ installs is missing: the operator creates no identity and no RBAC itself."""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.runner import rollout_reads
from wasmgate.runner.rollout_reads import (
    IdentityChecks,
    SchedulerIdentityMissing,
    ensure_scheduler_identity,
)


def _core_answering(status: int | None, asked: list[tuple[str, str]]) -> type:
    class Core:
        def __init__(self, api: object) -> None:
            pass

        def read_namespaced_service_account(self, name: str, namespace: str) -> object:
            asked.append((namespace, name))
            if status is not None:
                raise ApiException(status=status, reason="from the apiserver")
            return object()

    return Core


@pytest.mark.parametrize(
    ("status", "raised"),
    [(None, None), (404, SchedulerIdentityMissing), (403, ApiException)],
    ids=["present", "missing", "forbidden-passes-through"],
)
def test_the_identity_is_checked_never_created(
    monkeypatch: pytest.MonkeyPatch, status: int | None, raised: type[Exception] | None
) -> None:
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(client, "CoreV1Api", _core_answering(status, asked))
    api = cast(client.ApiClient, object())
    namespace = "sched"
    if raised is None:
        ensure_scheduler_identity(api, namespace)
    else:
        with pytest.raises(raised) as caught:
            ensure_scheduler_identity(api, namespace)
        error = cast(Any, caught.value)
        assert error.status == status
        assert (type(error) is SchedulerIdentityMissing) == (status == 404)
        if status == 404:
            assert str(error).startswith("(404)\nReason: ServiceAccount sched/wasmgate-scheduler")
            assert "apply deploy/scheduler/rbac.yaml" in str(error)
    assert asked == [("sched", "wasmgate-scheduler")]


def test_a_present_identity_is_checked_once_a_minute_a_missing_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, str]] = []
    api = cast(client.ApiClient, object())
    checks = IdentityChecks()
    clock = [1000.0]
    monkeypatch.setattr(rollout_reads.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(client, "CoreV1Api", _core_answering(404, asked))
    for _ in range(2):
        with pytest.raises(SchedulerIdentityMissing):
            checks.ensure(api, "sched")
    monkeypatch.setattr(client, "CoreV1Api", _core_answering(None, asked))
    checks.ensure(api, "sched")
    clock[0] += IdentityChecks.RECHECK_SECONDS - 1
    checks.ensure(api, "sched")
    checks.ensure(api, "other")
    clock[0] += 1
    checks.ensure(api, "sched")
    assert asked == [("sched", "wasmgate-scheduler")] * 3 + [
        ("other", "wasmgate-scheduler"),
        ("sched", "wasmgate-scheduler"),
    ]
