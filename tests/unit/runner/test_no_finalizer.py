"""WasmPlugins get no kopf finalizer: nothing of the operator needs to run before one is gone."""

from __future__ import annotations

import kopf
import pytest
from kopf._core.intents.handlers import DaemonHandler

from wasmgate.runner.handlers import plugins, register_handlers
from wasmgate.runner.handlers.no_finalizer import release_finalizer
from wasmgate.settings import OperatorSettings


def _registry() -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    register_handlers(registry, OperatorSettings())
    return registry


def test_the_plugin_resync_requires_no_finalizer_and_the_scheduler_daemon_still_does() -> None:
    spawning = {h.id: h.requires_finalizer for h in _registry()._spawning.get_all_handlers()}
    assert spawning == {"wasmplugin_resync": False, "rollout": True}


def test_no_plugin_change_handler_requires_a_finalizer() -> None:
    changing = _registry()._changing.get_all_handlers()
    assert changing
    assert not [h.id for h in changing if h.requires_finalizer]


def test_the_plugin_resync_is_a_daemon_cancelled_at_once() -> None:
    [daemon] = [h for h in _registry()._spawning.get_all_handlers() if h.id == "wasmplugin_resync"]
    assert isinstance(daemon, DaemonHandler)
    assert daemon.cancellation_timeout == 0


def test_releasing_a_function_that_has_no_timer_is_an_error() -> None:
    with pytest.raises(ValueError, match="no timer or daemon of wasmplugin_reconcile"):
        release_finalizer(_registry(), plugins.wasmplugin_reconcile)
