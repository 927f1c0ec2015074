"""The blobs a WasmScheduler's live revisions need, read once for the agents."""

from __future__ import annotations

from typing import Any

from wasmgate.api.scheduler_json import live_layers

A, B, C = ("sha256:" + char * 64 for char in "abc")


def _revision(number: int, outcome: str, *layers: str) -> dict[str, Any]:
    plugins = [
        {"name": f"p{i}", "digest": A, "layerDigest": layer} for i, layer in enumerate(layers)
    ]
    return {"revision": number, "outcome": outcome, "plugins": plugins}


def test_active_and_kept_revisions_are_live_failed_ones_are_not() -> None:
    scheduler = {
        "metadata": {"name": "s"},
        "status": {
            "plugins": [{"name": "p0", "digest": A, "layerDigest": A}],
            "revisions": [
                _revision(1, "Superseded", B),
                _revision(2, "Active", A),
                _revision(3, "Failed", C),
            ],
        },
    }

    assert live_layers(scheduler) == {
        A: "WasmScheduler s, active revision",
        B: "WasmScheduler s, revision 1 (Superseded)",
    }


def test_a_scheduler_without_status_pins_nothing() -> None:
    assert live_layers({"metadata": {"name": "s"}}) == {}
