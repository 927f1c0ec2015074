"""The per-plugin resync daemon: a pass every interval, and it returns once its plugin is deleted
(kopf would not stop it: plugins carry no finalizer; runner/plugin_lives.py)."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import kopf
import pytest

from wasmgate.runner.handlers import plugins
from wasmgate.runner.idle_threads import IdleExitingThreadPool
from wasmgate.runner.plugin_lives import PluginLives
from wasmgate.settings import OperatorSettings, ReconcileSettings


def test_the_resync_daemon_runs_at_the_settings_interval_until_its_plugin_is_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = OperatorSettings(reconcile=ReconcileSettings(resync_seconds=0.01))
    memo = SimpleNamespace(
        settings=settings,
        plugin_lives=PluginLives(),
        plugin_passes=IdleExitingThreadPool(1, thread_name_prefix="plugin-pass"),
    )
    passes: list[tuple[str, ...]] = []
    threads: set[str] = set()

    def counted(memo: Any, body: Any, kwargs: Any, rerun: tuple[str, ...]) -> None:
        passes.append(rerun)
        threads.add(threading.current_thread().name)
        if len(passes) == 3:
            loop.call_soon_threadsafe(memo.plugin_lives.ended, "uid-1")

    monkeypatch.setattr(plugins, "_run_pass", counted)
    body = kopf.Body({"metadata": {"uid": "uid-1"}, "spec": {}})  # type: ignore[typeddict-item]
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(
            asyncio.wait_for(plugins.wasmplugin_resync("uid-1", body, memo), timeout=10)  # type: ignore[arg-type]
        )
    finally:
        loop.close()

    assert passes == [(), (), ()]
    assert threads == {"plugin-pass_1"}  # the plugin passes' pool, not asyncio's default
    assert len(memo.plugin_lives) == 0


def test_a_plugin_deleted_before_its_daemon_started_ends_it_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = OperatorSettings(reconcile=ReconcileSettings(resync_seconds=3600))
    memo = SimpleNamespace(settings=settings, plugin_lives=PluginLives())
    monkeypatch.setattr(plugins, "_run_pass", lambda *_: pytest.fail("no pass after deletion"))
    memo.plugin_lives.ended("uid-2")
    body = kopf.Body({"metadata": {"uid": "uid-2"}, "spec": {}})  # type: ignore[typeddict-item]

    asyncio.run(asyncio.wait_for(plugins.wasmplugin_resync("uid-2", body, memo), timeout=5))  # type: ignore[arg-type]

    assert len(memo.plugin_lives) == 0
