from __future__ import annotations

from typing import Any

import pytest

from support.table_lookup import TableLookup
from wasmgate_admission.wasmscheduler import review_wasmscheduler


def _plugin(name: str, schedulers: list[str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"image": "r.example.com/x:v1"}}
    if schedulers is not None:
        spec["scheduler"] = {"schedulers": schedulers}
    return {"metadata": {"name": name}, "spec": spec}


def _delete(name: str) -> dict[str, Any]:
    return {"operation": "DELETE", "object": None, "oldObject": {"metadata": {"name": name}}}


@pytest.mark.parametrize(
    ("scheduler", "plugins", "message"),
    [
        (
            "blue",
            [_plugin("b", ["blue"]), _plugin("a", ["red", "blue"]), _plugin("c", ["red"])],
            "WasmScheduler blue is still used by WasmPlugins a, b; remove blue from their "
            "spec.scheduler.schedulers (or delete them) first",
        ),
        (
            "wasmgate-scheduler",
            [_plugin("defaulted", None)],
            "WasmScheduler wasmgate-scheduler is still used by WasmPlugins defaulted;",
        ),
        (
            "blue",
            [_plugin(f"p{i:02}", ["blue"]) for i in range(25)],
            "WasmPlugins p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, "
            "p14, p15, p16, p17, p18, p19 and 5 more;",
        ),
    ],
    ids=["lists_users_sorted", "default_scheduler_counts", "long_list_is_cut"],
)
def test_delete_in_use_is_refused(
    scheduler: str, plugins: list[dict[str, Any]], message: str
) -> None:
    verdict = review_wasmscheduler(_delete(scheduler), TableLookup(plugin_objects=plugins))
    assert not verdict.allowed
    assert verdict.reason == "SchedulerInUse"
    assert message in verdict.message


@pytest.mark.parametrize(
    ("request_", "lookup", "warnings"),
    [
        (_delete("blue"), TableLookup(plugin_objects=[_plugin("a", ["red"])]), ()),
        (
            _delete("blue"),
            TableLookup(
                plugin_objects=[
                    _plugin("a", ["blue"])
                    | {"metadata": {"name": "a", "deletionTimestamp": "2026-11-24T00:00:00Z"}}
                ]
            ),
            (),
        ),
        (
            {"operation": "UPDATE", "object": {"metadata": {"name": "blue"}}},
            TableLookup(plugin_objects=[_plugin("a", ["blue"])]),
            (),
        ),
        (
            _delete("blue"),
            TableLookup(broken=True),
            ("could not list WasmPlugins (HTTP 403 Forbidden); deleted anyway",),
        ),
    ],
    ids=[
        "unused",
        "user_being_deleted",
        "update_is_not_judged",
        "lookup_failure_admits_with_warning",
    ],
)
def test_admitted(request_: dict[str, Any], lookup: TableLookup, warnings: tuple[str]) -> None:
    verdict = review_wasmscheduler(request_, lookup)
    assert verdict.allowed
    assert verdict.warnings == warnings
