"""Kopf's diff base for our objects: built from a trimmed body, it must equal kopf's own."""

from __future__ import annotations

import copy
from typing import Any, cast

import kopf

from wasmgate.runner.kopf_settings import ANNOTATION_PREFIX, DiffBaseStorage

PLUGIN: dict[str, Any] = {
    "apiVersion": "wasmgate.dev/v1alpha1",
    "kind": "WasmPlugin",
    "metadata": {
        "name": "p",
        "uid": "u1",
        "resourceVersion": "7",
        "generation": 2,
        "labels": {"team": "a"},
        "annotations": {
            "wasmgate.dev/reconcile-requested": "1",
            f"{ANNOTATION_PREFIX}/last-handled-configuration": "{}",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
        "managedFields": [{"manager": "kubectl"}],
    },
    "spec": {"source": {"image": "reg.example/p:v1"}, "scheduler": {"weight": 3}},
    "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]},
}


def _body(raw: dict[str, Any]) -> kopf.Body:
    return kopf.Body(cast(kopf.RawBody, copy.deepcopy(raw)))


def test_the_essence_equals_kopfs_own_without_the_status_copy() -> None:
    ours = DiffBaseStorage(prefix=ANNOTATION_PREFIX, key="last-handled-configuration")
    stock = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )

    essence = ours.build(body=_body(PLUGIN))

    assert essence == stock.build(body=_body(PLUGIN))
    assert essence == {
        "spec": PLUGIN["spec"],
        "metadata": {
            "labels": {"team": "a"},
            "annotations": {"wasmgate.dev/reconcile-requested": "1"},
        },
    }


def test_extra_fields_still_see_the_whole_body() -> None:
    ours = DiffBaseStorage(prefix=ANNOTATION_PREFIX, key="last-handled-configuration")

    essence = ours.build(body=_body(PLUGIN), extra_fields=["status.phase"])

    assert essence["status"] == {"phase": "Ready"}  # type: ignore[index]
