"""Helpers for staging tests and the benchmark: real registry pushes, real API objects, real
agent processes.

The operator may not run in these tests, so they write a WasmPlugin's status themselves through
the status subresource, exactly as the operator would (same API, same RBAC path); nothing here
fakes the apiserver, the registry or the agent.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION, rfc3339
from wasmgate.oci import Credentials, RegistrySettings, push_wasm
from wasmgate_kit.wait import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
WASMGATE = Path(sys.executable).parent / "wasmgate"
WASM_HEADER = b"\0asm\x01\0\0\0"
HTTP_NOT_FOUND = 404
MIN_MAX_SIZE = 1024


@dataclass(frozen=True)
class Pushed:
    """A module in the kit registry."""

    image: str
    digest: str
    layer_digest: str
    data_size: int


def module_bytes(seed: str, size: int) -> bytes:
    """Deterministic bytes with a wasm header (the agent does not parse modules)."""
    block = hashlib.sha256(seed.encode()).digest() * 2048
    body = (block * (size // len(block) + 1))[: max(0, size - len(WASM_HEADER))]
    return WASM_HEADER + body


def push_module(
    registry_host: str,
    repository: str,
    data: bytes,
    workdir: Path,
    credentials: Credentials | None = None,
) -> Pushed:
    """Push `data` as a CNCF wasm artifact and return its digests."""
    path = workdir / f"{repository.replace('/', '_')}.wasm"
    path.write_bytes(data)
    image = f"{registry_host}/{repository}:v1"
    settings = RegistrySettings(plain_http=frozenset({registry_host}))
    digest = push_wasm(path, image, settings, credentials)
    layer = "sha256:" + hashlib.sha256(data).hexdigest()
    return Pushed(image=image, digest=digest, layer_digest=layer, data_size=len(data))


def apply_crds(kubectl: Any) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-k", REPO_ROOT / "crds")
    for plural in ("wasmplugins", "wasmschedulers", "wasmnodecaches"):
        kubectl("wait", "--for=condition=Established", f"crd/{plural}.{GROUP}", "--timeout=60s")


def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def delete_if_present(api: client.ApiClient, plural: str, name: str) -> None:
    try:
        custom(api).delete_cluster_custom_object(GROUP, VERSION, plural, name)
    except ApiException as e:
        if e.status != HTTP_NOT_FOUND:
            raise


def create_scheduler(
    api: client.ApiClient, name: str, node_selector: dict[str, str] | None = None
) -> None:
    delete_if_present(api, "wasmschedulers", name)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WasmScheduler",
        "metadata": {"name": name},
        "spec": {"image": "registry.k8s.io/kube-scheduler:v1.33.4",
                 "nodeSelector": node_selector or {}},
    }  # fmt: skip
    wait_for(lambda: _gone(api, "wasmschedulers", name), what=f"old {name} gone", timeout=30)
    custom(api).create_cluster_custom_object(GROUP, VERSION, "wasmschedulers", body)


def _gone(api: client.ApiClient, plural: str, name: str) -> bool:
    try:
        custom(api).get_cluster_custom_object(GROUP, VERSION, plural, name)
    except ApiException as e:
        return e.status == HTTP_NOT_FOUND
    return False


def create_plugin(
    api: client.ApiClient,
    name: str,
    pushed: Pushed,
    scheduler: str,
    pull_secret: dict[str, str] | None = None,
) -> int:
    """Create the WasmPlugin (maxSize fits the module) and return its generation."""
    delete_if_present(api, "wasmplugins", name)
    wait_for(lambda: _gone(api, "wasmplugins", name), what=f"old {name} gone", timeout=30)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": {
            "source": {
                "image": pushed.image,
                "maxSize": max(pushed.data_size, MIN_MAX_SIZE),
                **({"pullSecretRef": pull_secret} if pull_secret else {}),
            },
            "scheduler": {"schedulers": [scheduler]},
        },
    }
    created = custom(api).create_cluster_custom_object(GROUP, VERSION, "wasmplugins", body)
    return int(created["metadata"]["generation"])


def condition(type_: str, status: str, generation: int, reason: str = "Passed") -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": "",
        "observedGeneration": generation,
        "lastTransitionTime": rfc3339(datetime.now(UTC)),
    }


def set_plugin_status(api: client.ApiClient, name: str, status: dict[str, Any]) -> None:
    """Write status through the status subresource, as the operator does."""
    custom(api).patch_cluster_custom_object_status(
        GROUP, VERSION, "wasmplugins", name, {"status": status}
    )


def verified_status(pushed: Pushed, generation: int) -> dict[str, Any]:
    """What the operator writes once the digest passed verify and validate."""
    return {
        "phase": "Staging",
        "observedGeneration": generation,
        "digest": pushed.digest,
        "layerDigest": pushed.layer_digest,
        "size": pushed.data_size,
        "conditions": [
            condition("Resolved", "True", generation),
            condition("Verified", "True", generation),
            condition("Validated", "True", generation),
        ],
    }


def stage_plugin(
    api: client.ApiClient,
    name: str,
    pushed: Pushed,
    scheduler: str,
    pull_secret: dict[str, str] | None = None,
) -> None:
    generation = create_plugin(api, name, pushed, scheduler, pull_secret)
    set_plugin_status(api, name, verified_status(pushed, generation))


def node_cache(api: client.ApiClient, node: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = custom(api).get_cluster_custom_object(
            GROUP, VERSION, "wasmnodecaches", node
        )
    except ApiException as e:
        if e.status == HTTP_NOT_FOUND:
            return None
        raise
    return found


def cache_entry(api: client.ApiClient, node: str, digest: str) -> dict[str, Any] | None:
    cache = node_cache(api, node)
    entries = (cache or {}).get("status", {}).get("entries", [])
    return next((e for e in entries if e["digest"] == digest), None)


def wait_entry_state(
    api: client.ApiClient, node: str, digest: str, state: str, timeout: float = 60.0
) -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        entry = cache_entry(api, node, digest)
        if entry is None or entry["state"] != state:
            # Raised, so wait_for reports what the entry looked like when it gave up.
            raise AssertionError(f"entry is {entry}")
        return entry

    return wait_for(probe, what=f"{node} reports {digest} {state}", timeout=timeout)


def blob_path(store: Path, digest: str) -> Path:
    return store / "sha256" / digest.partition(":")[2]


def final_files_match_names(store: Path) -> list[str]:
    """Names of files under final names whose bytes do not hash to the name (should be [])."""
    bad = []
    directory = store / "sha256"
    if not directory.is_dir():
        return bad
    for path in directory.iterdir():
        if path.name.startswith("."):
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != path.name:
            bad.append(path.name)
    return bad


class AgentProcess:
    """`wasmgate agent` for one node, as a local process logging to a file."""

    def __init__(
        self,
        node: str,
        store: Path,
        kubeconfig: Path,
        registry_host: str,
        log_dir: Path,
        *extra: str,
    ) -> None:
        self.node = node
        self.store = store
        self.log = log_dir / f"agent-{node}.log"
        self.argv = [
            str(WASMGATE), "agent", "--node", node, "--store", str(store),
            "--kubeconfig", str(kubeconfig), "--plain-http", registry_host,
            "--resync", "1", *extra,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv, stdout=handle, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        handle.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup runs, as when a node loses power or the OOM killer strikes."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def build_node_cache_body(name: str) -> dict[str, Any]:
    """A WasmNodeCache without owner (for RBAC tests on names that are no real node)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WasmNodeCache",
        "metadata": {"name": name},
        "spec": {"nodeName": name},
    }
