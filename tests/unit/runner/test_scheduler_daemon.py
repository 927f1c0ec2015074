"""The WasmScheduler daemon survives any failure of a pass and retries it soon (no cluster).

Left to kopf, an exception stopped the daemon and kopf started it again only after its 60 s
backoff: the over-limit scheduler failed that way every minute with nothing in status.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from wasmgate import metrics
from wasmgate.api.wasmscheduler import WasmSchedulerStatus
from wasmgate.rollout.decision import Decision, Step
from wasmgate.runner.handlers import schedulers
from wasmgate.runner.handlers.indexes import ALL
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

    async def wait(seen: Any, name: str, timeout: float, is_stopped: Callable[[], bool]) -> None:
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
        wakeups=SimpleNamespace(token=lambda name: (0, 0), wait=wait, forget=lambda name: None),
        identities=None,
        scheduler_versions={},
        revision_configs=RevisionConfigs(),
        scheduler_passes=None,  # the event loop's default threads
    )
    monkeypatch.setattr(schedulers, "scheduler_pass", failing_pass)
    asyncio.run(schedulers.wasmscheduler_rollout("s", stopped, memo))  # type: ignore[arg-type]
    assert waits == [settings.reconcile.retry_base_seconds] * 2
    assert [r.message for r in caplog.records] == ["WasmScheduler s: pass failed, retrying"] * 2
    assert "List should have at most 64 items" in (caplog.records[0].exc_text or "")


@pytest.mark.parametrize("how", ["gone when read", "daemon stopped by kopf"])
def test_a_deleted_scheduler_is_forgotten(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
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
        scheduler_passes=None,
    )
    monkeypatch.setattr(schedulers, "scheduler_pass", lambda *_: None)  # the scheduler is gone
    stopped = Stop()
    stopped.set = how == "daemon stopped by kopf"
    asyncio.run(schedulers.wasmscheduler_rollout("s", stopped, memo))  # type: ignore[arg-type]
    assert forgotten == ["s"]
    assert memo.scheduler_versions == {"other": "8"}
    assert configs.last_read("s") == {}
    assert configs.last_read("other") == {"other-config-1": {"profiles": []}}


def test_waiting_daemons_hold_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty WasmSchedulers' daemons over two pass threads: each runs a pass, then waits until
    all forty have run one. Were a waiting daemon to hold its pass thread, the third would never
    run its pass and the gathering would time out."""
    count = 40
    passes: list[str] = []
    waiting: set[str] = set()

    def one_pass(memo: Any, name: str, snapshot: Any) -> Any:
        passes.append(name)
        return SimpleNamespace(
            events=[],
            decision=Decision(step=Step.IDLE, status=WasmSchedulerStatus()),
            staging_failures=[],
            staging_states={},
        )

    async def run_all() -> None:
        everyone_passed = asyncio.Event()
        stops = {f"s{index}": Stop() for index in range(count)}

        async def wait(seen: Any, name: str, timeout: float, stopped: Any) -> None:
            waiting.add(name)
            if len(waiting) == count:
                everyone_passed.set()
            await everyone_passed.wait()
            stops[name].set = True

        with ThreadPoolExecutor(2) as threads:
            memo = SimpleNamespace(
                settings=OperatorSettings(),
                wakeups=SimpleNamespace(
                    token=lambda name: (0, 0), wait=wait, forget=lambda name: None
                ),
                scheduler_passes=threads,
                revision_configs=RevisionConfigs(),
                scheduler_versions={},
            )
            daemons = [
                schedulers.wasmscheduler_rollout(name, stop, memo)  # type: ignore[arg-type]
                for name, stop in stops.items()
            ]
            await asyncio.wait_for(asyncio.gather(*daemons), timeout=30)

    monkeypatch.setattr(schedulers, "_scheduler_pass", one_pass)
    asyncio.run(run_all())
    assert sorted(passes) == sorted(f"s{index}" for index in range(count))


def test_staging_metrics_are_recorded_only_for_plugins_the_watch_still_holds() -> None:
    """A pass that listed a plugin just before its deletion returns its staging states after the
    deletion dropped its series; recording them would bring back a deleted plugin's series."""

    def staged(plugin: str) -> float | None:
        labels = {"plugin": plugin, "state": "Ready"}
        return metrics.registry.get_sample_value("wasmgate_staging_nodes", labels)

    states = {"daemon-live": {"Ready": 2}, "daemon-deleted": {"Ready": 1}}
    try:
        schedulers._record_staging(states, {"wasmgate_plugin_names": {ALL: ["daemon-live"]}})
        assert (staged("daemon-live"), staged("daemon-deleted")) == (2, None)
        schedulers._record_staging(states, {})  # run without the indexes: everything counts
        assert staged("daemon-deleted") == 1
    finally:
        for plugin in states:
            metrics.forget_plugin(plugin)


def test_a_daemon_cancelled_during_a_pass_forgets_its_scheduler_after_the_pass_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kopf cancels a deleted WasmScheduler's daemon while its pass runs in a thread; what the
    pass keeps at its end must not outlive the forgetting."""
    started, release = threading.Event(), threading.Event()
    configs = RevisionConfigs()

    def one_pass(memo: Any, name: str, snapshot: Any) -> Any:
        started.set()
        release.wait(10)
        memo.scheduler_versions[name] = "8"  # what a pass keeps for the next one
        memo.revision_configs.keep(name, {f"{name}-config-1": {"profiles": []}})
        return None

    async def cancel_during_the_pass() -> None:
        with ThreadPoolExecutor(1) as threads:
            memo = SimpleNamespace(
                settings=OperatorSettings(),
                wakeups=SimpleNamespace(token=lambda name: (0, 0), forget=lambda name: None),
                scheduler_passes=threads,
                revision_configs=configs,
                scheduler_versions={},
            )
            daemon = asyncio.ensure_future(
                schedulers.wasmscheduler_rollout("s", Stop(), memo)  # type: ignore[arg-type]
            )
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            daemon.cancel()
            with pytest.raises(asyncio.CancelledError):
                await daemon
            release.set()
        await asyncio.sleep(0.1)  # the pass's end reaches the event loop
        assert memo.scheduler_versions == {}

    monkeypatch.setattr(schedulers, "_scheduler_pass", one_pass)
    asyncio.run(cancel_during_the_pass())
    assert configs.last_read("s") == {}
