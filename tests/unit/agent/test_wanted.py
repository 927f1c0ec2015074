"""The agent stages a digest only when Verified and Validated hold for the current generation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from wasmgate.agent.wanted import Readings, pinned_blobs, wanted_blobs

MANIFEST = "sha256:" + "1" * 64
LAYER = "sha256:" + "2" * 64
OTHER = "sha256:" + "3" * 64
NODE = {"metadata": {"name": "n1", "labels": {"role": "sched"}}, "spec": {}}
NOW = "2026-01-01T00:00:00Z"


def _condition(type_: str, status: str = "True", generation: int = 2) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": "Passed", "message": "",
            "observedGeneration": generation, "lastTransitionTime": NOW}  # fmt: skip


def _plugin(status: dict[str, Any] | None, *, pin: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"image": "reg.example/p:v1"}
    if pin:
        source["digest"] = pin
    plugin: dict[str, Any] = {
        "apiVersion": "wasmgate.dev/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": "p", "generation": 2},
        "spec": {"source": source, "scheduler": {"schedulers": ["s"]}},
    }
    if status is not None:
        plugin["status"] = status
    return plugin


def _status(*conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"digest": MANIFEST, "layerDigest": LAYER, "conditions": list(conditions), **extra}


SCHEDULER = {
    "apiVersion": "wasmgate.dev/v1alpha1",
    "kind": "WasmScheduler",
    "metadata": {"name": "s"},
    "spec": {"image": "reg.example/sched:v1", "nodeSelector": {"role": "sched"}},
}
GOOD = _status(_condition("Verified"), _condition("Validated"))

REFUSED = [
    ("no-status", _plugin(None), "status names no digest and layerDigest yet"),
    ("verified-false", _plugin(_status(_condition("Verified", "False"), _condition("Validated"))),
     "condition Verified is not True"),
    ("validated-missing", _plugin(_status(_condition("Verified"))),
     "condition Validated is not True"),
    ("verified-for-old-generation",
     _plugin(_status(_condition("Verified", generation=1), _condition("Validated"))),
     "condition Verified describes generation 1, not the current 2"),
    ("hand-edited-to-look-staged", _plugin(_status(
        _condition("Resolved"), _condition("Staged"), _condition("Ready"),
        phase="Ready", staging={"ready": 3, "desired": 3})),
     "condition Verified is not True"),
    ("status-digest-differs-from-pin", _plugin(GOOD, pin=OTHER),
     f"status.digest {MANIFEST} differs from spec.source.digest {OTHER}"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("plugin", "why"), [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED]
)
def test_plugins_that_are_not_verified_for_this_generation_are_refused(
    plugin: dict[str, Any], why: str
) -> None:
    wanted, refused = wanted_blobs([plugin], [SCHEDULER], NODE)
    assert wanted == {}
    assert refused == {"p": why}


def test_a_verified_plugin_for_a_scheduler_on_this_node_is_wanted_by_its_layer_digest() -> None:
    wanted, refused = wanted_blobs([_plugin(GOOD, pin=MANIFEST)], [SCHEDULER], NODE)
    assert refused == {}
    assert list(wanted) == [LAYER]
    source = wanted[LAYER]
    assert (source.manifest_digest, source.image, source.plugin) == (
        MANIFEST, "reg.example/p:v1", "p",
    )  # fmt: skip


@pytest.mark.parametrize("node_labels", [{}, {"role": "worker"}], ids=["no-labels", "other-role"])
def test_a_node_the_scheduler_does_not_select_stages_nothing(node_labels: dict[str, str]) -> None:
    node = {"metadata": {"name": "n2", "labels": node_labels}, "spec": {}}
    assert wanted_blobs([_plugin(GOOD)], [SCHEDULER], node) == ({}, {})


def test_a_plugin_whose_scheduler_does_not_exist_stages_nothing() -> None:
    assert wanted_blobs([_plugin(GOOD)], [], NODE) == ({}, {})


def test_an_object_that_is_not_a_valid_wasmplugin_is_refused_not_crashed_on() -> None:
    broken = _plugin(GOOD)
    broken["spec"]["source"]["image"] = ""
    wanted, refused = wanted_blobs([broken], [SCHEDULER], NODE)
    assert wanted == {}
    assert refused == {"p": "the object does not match the WasmPlugin schema"}


def _scheduler_status(**status: Any) -> dict[str, Any]:
    return {**SCHEDULER, "status": status}


def _revision(number: int, outcome: str, layer: str) -> dict[str, Any]:
    return {
        "revision": number,
        "configMapName": f"s-config-{number}",
        "outcome": outcome,
        "createdAt": NOW,
        "plugins": [{"name": "p", "digest": MANIFEST, "layerDigest": layer}],
    }


def test_live_revisions_pin_their_blobs_on_the_scheduler_nodes_only() -> None:
    scheduler = _scheduler_status(
        plugins=[{"name": "p", "digest": MANIFEST, "layerDigest": LAYER}],
        revisions=[_revision(1, "Superseded", OTHER), _revision(2, "Active", LAYER)],
    )
    elsewhere = {"metadata": {"name": "n2", "labels": {}}, "spec": {}}

    assert pinned_blobs([scheduler], NODE) == {
        LAYER: "WasmScheduler s, active revision",
        OTHER: "WasmScheduler s, revision 1 (Superseded)",
    }
    assert pinned_blobs([scheduler], elsewhere) == {}


def test_a_failed_revision_pins_nothing() -> None:
    scheduler = _scheduler_status(revisions=[_revision(3, "Failed", OTHER)])

    assert pinned_blobs([scheduler], NODE) == {}


def test_a_live_blob_stays_pinned_whatever_the_plugin_conditions_say() -> None:
    # Verification could not reach the registry: the plugin may not be staged anew, but the
    # blob the active revision runs is still pinned.
    plugin = _plugin(_status(_condition("Verified", "Unknown"), _condition("Validated")))
    scheduler = _scheduler_status(
        plugins=[{"name": "p", "digest": MANIFEST, "layerDigest": LAYER}],
        revisions=[_revision(2, "Active", LAYER)],
    )

    wanted, refused = wanted_blobs([plugin], [scheduler], NODE)

    assert (wanted, refused) == ({}, {"p": "condition Verified is not True"})
    assert LAYER in pinned_blobs([scheduler], NODE)


def test_readings_parse_an_object_once_per_resource_version() -> None:
    parsed: list[str] = []

    def parse(raw: Mapping[str, Any]) -> str:
        parsed.append(raw["metadata"]["resourceVersion"])
        return str(raw["metadata"]["resourceVersion"])

    readings = Readings()
    first = {"metadata": {"uid": "u1", "name": "p", "resourceVersion": "1"}}
    assert readings.read("WasmPlugin", first, parse) == "1"
    readings.next_round()
    assert readings.read("WasmPlugin", first, parse) == "1"
    readings.next_round()
    changed = {"metadata": {"uid": "u1", "name": "p", "resourceVersion": "2"}}
    assert readings.read("WasmPlugin", changed, parse) == "2"
    assert parsed == ["1", "2"]


def test_readings_forget_objects_a_round_did_not_ask_for() -> None:
    parsed: list[str] = []

    def parse(raw: Mapping[str, Any]) -> str:
        parsed.append(raw["metadata"]["name"])
        return "ok"

    readings = Readings()
    plugin = {"metadata": {"uid": "u1", "name": "p", "resourceVersion": "1"}}
    readings.read("WasmPlugin", plugin, parse)
    readings.next_round()
    readings.next_round()  # a round in which the plugin was gone
    readings.read("WasmPlugin", plugin, parse)
    assert parsed == ["p", "p"]


def test_wanted_blobs_with_readings_sees_a_status_change() -> None:
    readings = Readings()
    unverified = _plugin(_status(_condition("Validated")))
    unverified["metadata"].update(uid="u1", resourceVersion="1")
    wanted, refused = wanted_blobs([unverified], [SCHEDULER], NODE, readings)
    assert not wanted and "p" in refused
    readings.next_round()
    verified = _plugin(GOOD)
    verified["metadata"].update(uid="u1", resourceVersion="2")
    wanted, refused = wanted_blobs([verified], [SCHEDULER], NODE, readings)
    assert list(wanted) == [LAYER] and not refused
