from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from support.table_lookup import PUBLIC_PEM, TableLookup, secret
from wasmgate_admission.decision import AdmissionDecision
from wasmgate_admission.indexed_lookup import ALL, IndexedLookup, review_confirmed
from wasmgate_admission.lookup import Lookup
from wasmgate_admission.wasmplugin import review_wasmplugin

KEY = secret({"cosign.pub": PUBLIC_PEM})
PLUGIN = {
    "metadata": {"name": "p"},
    "spec": {
        "source": {"image": "registry.example.com/x/p:v1"},
        "verify": {"keys": [{"secretRef": {"name": "k", "namespace": "ops"}}]},
    },
}


def _indexed(fallback: TableLookup, **indexes: Mapping[Any, list[Any]]) -> IndexedLookup:
    views: dict[str, Mapping[Any, list[Any]]] = {
        "secrets": {},
        "schedulers": {},
        "policies": {},
    }
    views.update(indexes)
    return IndexedLookup(fallback=fallback, **views)


def test_index_hits_never_reach_the_fallback() -> None:
    fallback = TableLookup(broken=True)
    lookup = _indexed(
        fallback,
        secrets={("ops", "k"): [KEY["data"]]},
        schedulers={"s": [True]},
        policies={ALL: [{"metadata": {"name": "pol"}}]},
    )
    assert lookup.secret("ops", "k") == KEY
    assert lookup.scheduler_exists("s")
    assert [p["metadata"]["name"] for p in lookup.trust_policies()] == ["pol"]


def test_plugins_are_always_read_fresh() -> None:
    # Only a WasmScheduler DELETE lists plugins; it must see one created a moment ago.
    lookup = _indexed(TableLookup(plugin_objects=[PLUGIN]))
    assert lookup.plugins() == [PLUGIN]


def test_index_misses_ask_the_fallback_before_saying_absent() -> None:
    fallback = TableLookup(secrets={("ops", "new"): KEY}, schedulers={"new"})
    lookup = _indexed(fallback)
    assert lookup.secret("ops", "new") == KEY
    assert lookup.secret("ops", "absent") is None
    assert lookup.scheduler_exists("new")
    assert not lookup.scheduler_exists("absent")
    assert lookup.trust_policies() == []


def test_a_denial_from_stale_indexes_is_decided_again_on_fresh_data() -> None:
    stale = TableLookup(
        secrets={("ops", "k"): {"data": {"other": ""}}}, schedulers={"wasmgate-scheduler"}
    )
    fresh = TableLookup(secrets={("ops", "k"): KEY}, schedulers={"wasmgate-scheduler"})
    request = {"operation": "CREATE", "object": PLUGIN}
    assert not review_wasmplugin(request, stale).allowed
    verdict = asyncio.run(review_confirmed(review_wasmplugin, request, stale, fresh))
    assert verdict.allowed, verdict.message


def test_an_admission_from_the_indexes_is_not_read_again() -> None:
    calls: list[str] = []

    def review(request: Mapping[str, Any], lookup: Lookup) -> AdmissionDecision:
        calls.append("cached" if lookup is cached else "fresh")
        return AdmissionDecision(allowed=True)

    cached, fresh = TableLookup(), TableLookup()
    asyncio.run(review_confirmed(review, {}, cached, fresh))
    assert calls == ["cached"]
