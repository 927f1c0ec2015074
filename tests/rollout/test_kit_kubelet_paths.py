"""The kit kubelet's mapping of the node store into a kit node's directory."""

from __future__ import annotations

from pathlib import Path

from rollout_samples import entry, scheduler

from wasmgate.kit.kubelet import kit_store_dir, map_store_paths
from wasmgate.rollout.config import build_scheduler_config


def test_guest_urls_move_to_the_node_store(tmp_path: Path) -> None:
    config = build_scheduler_config(scheduler(), [entry("a", "1")])
    config["profiles"][0]["pluginConfig"].append(
        {"name": "remote", "args": {"guestURL": "https://example.com/p.wasm"}}
    )
    node_store = kit_store_dir(tmp_path, "kit-node-1")
    mapped = map_store_paths(config, "/var/lib/wasmgate/store", node_store)
    urls = [item["args"]["guestURL"] for item in mapped["profiles"][0]["pluginConfig"]]
    assert urls == [
        f"file://{tmp_path}/stores/kit-node-1/sha256/{'1' * 64}",
        "https://example.com/p.wasm",
    ]
