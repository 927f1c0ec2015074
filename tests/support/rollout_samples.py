"""Sample WasmSchedulers and plugin entries shared by the rollout unit tests."""

from __future__ import annotations

from typing import Any

from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.plugins import PluginEntry


def scheduler(**spec: Any) -> WasmScheduler:
    return WasmScheduler.model_validate(
        {
            "metadata": {"name": "wasmgate-scheduler", "uid": "uid-1", "generation": 1},
            "spec": {"image": "registry.example/wasm-scheduler:v1", **spec},
        }
    )


def digest(char: str) -> str:
    return "sha256:" + char * 64


def entry(name: str, layer: str = "a", **fields: Any) -> PluginEntry:
    fields.setdefault("generation", 1)
    return PluginEntry(name=name, digest=digest("f"), layer_digest=digest(layer), **fields)
