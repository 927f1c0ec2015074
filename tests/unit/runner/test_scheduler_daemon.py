"""The WasmScheduler daemon survives any failure of a pass and retries it soon (no cluster).

Left to kopf, an exception stopped the daemon and kopf started it again only after its 60 s
backoff: the over-limit scheduler failed that way every minute with nothing in status.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from wasmgate.runner.handlers import schedulers
from wasmgate.runner.rollout_reads import RevisionConfigs
from wasmgate.settings import OperatorSettings


class Stop:
    """kopf's DaemonStopped stand-in: falsy until set."""

    def __init__(self) -> None:
        self.set = False

    def __bool__(self) -> bool:
        return self.set


def test_any_exception_is_logged_and_retried_after_the_base_delay(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stopped = Stop()
    waits: list[float] = []

    def wait(seen: Any, name: str, timeout: float, is_stopped: Callable[[], bool]) -> None:
        waits.append(timeout)
        stopped.set = len(waits) == 2

    passes = iter([ValueError("List should have at most 64 items"), RuntimeError("bug")])

    def failing_pass(*_: Any) -> Any:
        raise next(passes)

    settings = OperatorSettings()
    memo = SimpleNamespace(
        settings=settings,
        api=object(),
        locks=SimpleNamespace(hold=None),
        wakeups=SimpleNamespace(token=lambda name: (0, 0), wait=wait),
        identities=None,
        scheduler_versions={},
        revision_configs=RevisionConfigs(),
    )
    monkeypatch.setattr(schedulers, "scheduler_pass", failing_pass)
    schedulers.wasmscheduler_rollout("s", stopped, memo)  # type: ignore[arg-type]
    assert waits == [settings.reconcile.retry_base_seconds] * 2
    assert [r.message for r in caplog.records] == ["WasmScheduler s: pass failed, retrying"] * 2
    assert "List should have at most 64 items" in (caplog.records[0].exc_text or "")


def test_a_deleted_scheduler_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    configs = RevisionConfigs()
    configs.keep("s", {"s-config-1": {"profiles": []}})
    configs.keep("other", {"other-config-1": {"profiles": []}})
    forgotten: list[str] = []
    memo = SimpleNamespace(
        settings=OperatorSettings(),
        api=object(),
        locks=SimpleNamespace(hold=None),
        wakeups=SimpleNamespace(token=lambda name: (0, 0), forget=forgotten.append),
        identities=None,
        scheduler_versions={"s": "7", "other": "8"},
        revision_configs=configs,
    )
    monkeypatch.setattr(schedulers, "scheduler_pass", lambda *_: None)  # the scheduler is gone
    schedulers.wasmscheduler_rollout("s", Stop(), memo)  # type: ignore[arg-type]
    assert forgotten == ["s"]
    assert memo.scheduler_versions == {"other": "8"}
    assert configs.last_read("s") == {}
    assert configs.last_read("other") == {"other-config-1": {"profiles": []}}
