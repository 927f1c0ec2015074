"""The bodies the watches keep for scheduler passes: everything but managedFields, copied."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import kopf

from wasmgate.runner.handlers.indexes import ALL, wasmgate_plugin_bodies, watched_copy


def _plugin() -> dict[str, Any]:
    return {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {
            "name": "p",
            "uid": "u-1",
            "generation": 2,
            "labels": {"tier": "edge"},
            "annotations": {"note": "kept"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {"source": {"image": "r.example/p:v1"}},
        "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_the_copy_drops_managed_fields_and_keeps_the_rest() -> None:
    plugin = _plugin()
    kept = watched_copy(plugin)
    assert "managedFields" not in kept["metadata"]
    del plugin["metadata"]["managedFields"]
    assert kept == plugin


def test_the_copy_shares_nothing_with_the_body() -> None:
    plugin = _plugin()
    kept = watched_copy(plugin)
    plugin["status"]["conditions"][0]["status"] = "False"
    plugin["metadata"]["labels"]["tier"] = "core"
    assert kept["status"]["conditions"][0]["status"] == "True"
    assert kept["metadata"]["labels"] == {"tier": "edge"}


def test_the_plugin_index_keeps_the_copy_of_a_kopf_body() -> None:
    body = kopf.Body(cast(kopf.RawBody, _plugin()))
    indexed = asyncio.run(wasmgate_plugin_bodies(body))
    assert "managedFields" not in indexed[ALL]["metadata"]
    assert indexed[ALL]["metadata"]["name"] == "p"
