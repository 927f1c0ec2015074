"""The kit's overlay of deploy/ changes images, registry hosts and placement, and nothing else.

Rendered with the kit's kubectl, object by object against `kubectl kustomize deploy/`: every
difference must be one the overlay means (kit/install.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from wasmgate_kit.build import binary_path
from wasmgate_kit.install import PUBLISHED_WASMGATE_IMAGE, KitInstall, split_image, write_overlay
from wasmgate_kit.paths import repo_root
from wasmgate_kit.real_node import NODE_LABEL

INSTALL = KitInstall(
    wasmgate_image="127.0.0.1:5000/kit/wasmgate:0123abcd",
    scheduler_image="127.0.0.1:5000/kit/kube-scheduler-wasm-extension:4567ef",
    plain_http=("10.232.3.2:5000", "10.232.3.2:5001"),
)


def _render(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run([str(binary_path("kubectl")), "kustomize", str(directory)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def test_split_image_keeps_a_registry_port_in_the_name() -> None:
    assert split_image("127.0.0.1:5000/kit/wasmgate:abc") == ("127.0.0.1:5000/kit/wasmgate", "abc")


def test_only_the_meant_fields_differ_from_deploy(tmp_path: Path) -> None:
    deploy = repo_root() / "deploy"
    base = _render(deploy)
    kit = _render(write_overlay(tmp_path / "overlay", INSTALL, deploy))
    assert base.keys() == kit.keys()
    changed = {key for key in base if base[key] != kit[key]}
    assert changed == {
        ("Deployment", "wasmgate-operator"),
        ("DaemonSet", "wasmgate-agent"),
        ("WasmScheduler", "wasmgate-scheduler"),
    }
    operator = kit[("Deployment", "wasmgate-operator")]["spec"]["template"]["spec"]
    assert operator["containers"][0]["image"] == INSTALL.wasmgate_image
    assert operator["containers"][0]["args"][-2:] == [
        "--plain-http-registry=10.232.3.2:5000",
        "--plain-http-registry=10.232.3.2:5001",
    ]
    assert operator["nodeSelector"] == {NODE_LABEL: "true"}
    agent = kit[("DaemonSet", "wasmgate-agent")]["spec"]["template"]["spec"]
    images = {c["image"] for c in agent["containers"] + agent["initContainers"]}
    assert images == {INSTALL.wasmgate_image}
    assert "--plain-http=10.232.3.2:5001" in agent["containers"][0]["args"]
    scheduler = kit[("WasmScheduler", "wasmgate-scheduler")]["spec"]
    assert scheduler["image"] == INSTALL.scheduler_image
    assert scheduler["nodeSelector"] == {NODE_LABEL: "true"}
    # Hardening is deploy/'s own: the same securityContext and resources as the base.
    base_operator = base[("Deployment", "wasmgate-operator")]["spec"]["template"]["spec"]
    for field in ("securityContext", "resources", "volumeMounts", "livenessProbe"):
        assert operator["containers"][0][field] == base_operator["containers"][0][field]
    assert PUBLISHED_WASMGATE_IMAGE not in yaml.safe_dump(list(kit.values()))
