"""Admission refuses the WasmPlugin that would be one too many for a WasmScheduler."""

from __future__ import annotations

from typing import Any

import pytest

from support.table_lookup import TableLookup
from wasmgate.api.wasmscheduler import MAX_SCHEDULER_PLUGINS
from wasmgate_admission.indexed_lookup import IndexedLookup
from wasmgate_admission.wasmplugin import review_wasmplugin

FULL = "blue"
ROOMY = "red"


def _plugin(name: str, schedulers: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": {
            "source": {"image": "registry.example.com/x/p:v1"},
            "scheduler": {"schedulers": schedulers},
        },
    }


def _lookup(on_full: int = MAX_SCHEDULER_PLUGINS) -> TableLookup:
    plugins = [_plugin(f"p{i:03}", [FULL]) for i in range(on_full)]
    deleting = _plugin("going", [ROOMY])
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return TableLookup(schedulers={FULL, ROOMY}, plugin_objects=[*plugins, deleting])


def _create(plugin: dict[str, Any]) -> dict[str, Any]:
    return {"operation": "CREATE", "object": plugin}


def _update(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {"operation": "UPDATE", "object": new, "oldObject": old}


def test_one_too_many_is_refused_naming_the_scheduler_the_limit_and_the_fix() -> None:
    verdict = review_wasmplugin(_create(_plugin("new", [ROOMY, FULL])), _lookup())
    assert not verdict.allowed
    assert verdict.reason == "PluginLimitExceeded"
    assert verdict.message == (
        f"spec.scheduler.schedulers[1]: WasmScheduler {FULL} already loads 64 WasmPlugins, the "
        "most one scheduler may (64); name another WasmScheduler here (create one from "
        "docs/examples/wasmscheduler.yaml with its own name), or delete a WasmPlugin that "
        f"names {FULL}"
    )


@pytest.mark.parametrize(
    ("request_", "on_full"),
    [
        pytest.param(_create(_plugin("new", [FULL])), MAX_SCHEDULER_PLUGINS - 1, id="last_place"),
        pytest.param(_create(_plugin("new", [ROOMY])), MAX_SCHEDULER_PLUGINS, id="other_sched"),
        pytest.param(
            _update(_plugin("p000", [FULL]), _plugin("p000", [FULL, ROOMY])),
            MAX_SCHEDULER_PLUGINS + 3,
            id="edit_of_a_plugin_already_over_the_limit",
        ),
        pytest.param(
            _create(_plugin("p000", [FULL])), MAX_SCHEDULER_PLUGINS, id="recreate_counts_once"
        ),
    ],
)
def test_admitted(request_: dict[str, Any], on_full: int) -> None:
    verdict = review_wasmplugin(request_, _lookup(on_full))
    assert verdict.allowed, verdict.message


def test_adding_the_full_scheduler_in_an_update_is_refused() -> None:
    request = _update(_plugin("x", [ROOMY]), _plugin("x", [ROOMY, FULL]))
    verdict = review_wasmplugin(request, _lookup())
    assert not verdict.allowed
    assert verdict.reason == "PluginLimitExceeded"


def test_an_unreadable_cluster_admits_and_leaves_the_limit_to_the_operator() -> None:
    verdict = review_wasmplugin(_create(_plugin("new", [FULL])), TableLookup(broken=True))
    assert "PluginLimitExceeded" not in verdict.reason


def test_the_index_answers_without_the_fallback() -> None:
    names = {FULL: [f"p{i:03}" for i in range(MAX_SCHEDULER_PLUGINS)]}
    lookup = IndexedLookup(
        secrets={},
        schedulers={FULL: [True]},
        policies={},
        fallback=TableLookup(broken=True),
        scheduler_plugins=names,
    )
    verdict = review_wasmplugin(_create(_plugin("new", [FULL])), lookup)
    assert verdict.reason == "PluginLimitExceeded"
    assert lookup.scheduler_plugins(ROOMY) == []
