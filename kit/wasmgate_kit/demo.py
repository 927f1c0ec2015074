"""`make demo`: the whole path a plugin takes, on the local kit, narrated step by step.

It brings the kit up (or reuses one it started) with a real node (kubelet, containerd, runc) and
wasmgate installed the documented way, `kubectl apply -k` of an overlay of deploy/
(`wasmgate-kit up --install`, kit/install.py): the operator and the agent run as pods of the image
built here from the Containerfile, and the WasmScheduler `wasmgate-scheduler` from deploy/ runs
upstream's kube-scheduler-wasm-extension image, also pushed by the kit, as a pod on that node.
Then it builds a sample filter plugin, validates it, pushes and signs it to the kit registry at
the address the pods reach it, applies a WasmPlugin for that scheduler and follows the plugin's
phase while the operator resolves, verifies and validates it, the agent stages it on the node
and the operator rolls the scheduler Deployment. A demo pod with that schedulerName lands on the
kwok node the plugin picks. No Python process stands in for a kubelet.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from wasmgate_kit import build, supervisor
from wasmgate_kit.install import NAMESPACE, SCHEDULER
from wasmgate_kit.kit import read_state
from wasmgate_kit.paths import default_state_dir, repo_root
from wasmgate_kit.real_schedulers import IMAGE_REGISTRY
from wasmgate_kit.wait import wait_for

PLUGIN = "node-digit"
KWOK_NODES = 3
SIGN = ["--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "-y"]
STEP_TIMEOUT = 240.0
"""Seconds per step: a rollout starts a new scheduler pod (init container, then the scheduler)."""


def _step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def _run(argv: list[str | Path], **kwargs: Any) -> str:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, **kwargs
    )
    if result.returncode != 0:
        raise SystemExit(f"demo: `{' '.join(map(str, argv))}` failed:\n{result.stderr}")
    output: str = result.stdout
    return output


def _wasmgate(*args: str | Path) -> str:
    return _run([sys.executable, "-m", "wasmgate", *args])


class Demo:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.work = state_dir.parent / "demo"
        self.work.mkdir(parents=True, exist_ok=True)

    def kubectl(self, *args: str | Path, stdin: str | None = None) -> str:
        return _run(
            [build.binary_path("kubectl"), f"--kubeconfig={self.kubeconfig}", *args], input=stdin
        )

    def apply(self, document: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", stdin=json.dumps(document))

    def run(self) -> None:
        started = time.monotonic()
        self.kit_up()
        wasm = self.build_plugin()
        image, digest = self.push_and_sign(wasm)
        self.apply_plugin(image)
        self.wait_ready()
        node = self.schedule_demo_pod()
        _step("done")
        print(self.kubectl("get", "wasmplugins", "-o", "wide"))
        print(f"plugin {PLUGIN} ({digest[:19]}) placed pod demo-pod-1 on node {node}")
        print(f"demo took {time.monotonic() - started:.0f}s; `wasmgate-kit down` stops the kit")

    def kit_up(self) -> None:
        _step("building (or finding cached) kit components")
        build.build_all()
        _step(
            "starting the kit: etcd, kube-apiserver, controller-manager, kwok nodes, registries,"
            " a real node (kubelet, containerd, runc); building the wasmgate image from the"
            " Containerfile and upstream's scheduler image; installing wasmgate with"
            " `kubectl apply -k` of deploy/ (`wasmgate-kit up --install`)"
        )
        if supervisor.running_supervisor(self.state_dir) is None:
            supervisor.start_detached(self.state_dir, nodes=KWOK_NODES, install=True)
        state = read_state(self.state_dir)
        if state is None or not state.get("install"):
            raise SystemExit(
                f"demo: the kit running from {self.state_dir} has no wasmgate installed as pods"
                " (an older `wasmgate-kit up`); run `wasmgate-kit down` first"
            )
        self.state = state
        self.kubeconfig = Path(state["kubeconfig"])
        self.registry = state["install"]["podRegistries"][IMAGE_REGISTRY]
        print(self.kubectl("get", "nodes"))
        print(self.kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide"))

    def build_plugin(self) -> Path:
        _step("building the sample plugin (C, clang --target=wasm32) and validating it")
        builder = _load(repo_root() / "tests" / "assets" / "wasm" / "build_assets.py")
        wasm: Path = builder.build_c("filter_node_name_suffix", self.work)
        print(_wasmgate("validate", wasm, "--config", "pod-digit"))
        return wasm

    def push_and_sign(self, wasm: Path) -> tuple[str, str]:
        _step(
            f"pushing to {self.registry} (the kit registry at the node's address, as pods"
            " reach it) with `wasmgate push`, signing with cosign"
        )
        image = f"{self.registry}/demo/{PLUGIN}:v1"
        digest = _wasmgate("push", "--plain-http", wasm, image).strip()
        # A fresh key pair per run: its password lives only in this process.
        env = {"COSIGN_PASSWORD": secrets.token_urlsafe(16), "PATH": "/usr/bin:/bin"}
        cosign = build.binary_path("cosign")
        for name in ("cosign.key", "cosign.pub"):
            (self.work / name).unlink(missing_ok=True)
        _run([cosign, "generate-key-pair"], cwd=self.work, env=env)
        _run([cosign, "sign", "--key", self.work / "cosign.key", *SIGN,
              f"{image.rsplit(':', 1)[0]}@{digest}"], env=env)  # fmt: skip
        secret = self.kubectl(
            "create", "secret", "generic", "demo-signing-key", "-n", NAMESPACE,
            f"--from-file=cosign.pub={self.work / 'cosign.pub'}", "--dry-run=client", "-o", "json",
        )  # fmt: skip
        self.apply(json.loads(secret))
        print(f"signed {image}@{digest}")
        return image, digest

    def apply_plugin(self, image: str) -> None:
        _step(f"applying WasmPlugin {PLUGIN} for WasmScheduler {SCHEDULER} (installed by deploy/)")
        print(self.kubectl("get", "wasmschedulers"))
        # A rerun starts from a fresh object, so no condition from the last run is mistaken
        # for this run's result.
        self.kubectl("delete", "wasmplugin", PLUGIN, "--ignore-not-found", "--wait=true")
        self.apply({
            "apiVersion": "wasmgate.dev/v1alpha1", "kind": "WasmPlugin",
            "metadata": {"name": PLUGIN},
            "spec": {
                "source": {"image": image},
                "verify": {"keys": [{"secretRef": {"name": "demo-signing-key",
                                                   "namespace": NAMESPACE}}]},
                "scheduler": {"schedulers": [SCHEDULER], "guestConfig": "pod-digit"},
            },
        })  # fmt: skip

    def _alive(self) -> None:
        if supervisor.running_supervisor(self.state_dir) is None:
            log = self.state_dir.parent / "supervisor.log"
            raise SystemExit(f"demo: the kit supervisor died; see {log}")

    def wait_ready(self) -> None:
        _step("waiting for the operator: resolve, verify, validate; agents stage; scheduler rolls")
        seen: list[str] = []

        def ready() -> dict[str, Any] | None:
            body = json.loads(self.kubectl("get", "wasmplugin", PLUGIN, "-o", "json"))
            status = body.get("status") or {}
            phase = status.get("phase", "Pending")
            if not seen or seen[-1] != phase:
                seen.append(phase)
                staged = (status.get("staging") or {}).get("summary", "")
                print(f"  phase {phase}" + (f" (staged {staged})" if staged else ""), flush=True)
            if phase == "Failed":
                conditions = status.get("conditions") or []
                raise SystemExit(f"demo: {PLUGIN} failed: {json.dumps(conditions, indent=2)}")
            return body if phase == "Ready" else None

        body = wait_for(ready, what=f"{PLUGIN} Ready", timeout=STEP_TIMEOUT, alive=self._alive)
        signature = body["status"].get("signature", {})
        print(
            f"verified: {signature.get('format')} signature, key {signature.get('keyFingerprint')}"
        )
        print(self.kubectl("get", "wasmnodecaches"))
        print(self.kubectl("get", "wasmschedulers"))
        print(self.kubectl("get", "deployments,configmaps", "-n", NAMESPACE,
                           "-l", "wasmgate.dev/component=scheduler"))  # fmt: skip
        print(self.kubectl("get", "pods", "-A", "-o", "wide"))

    def schedule_demo_pod(self) -> str:
        _step(f"creating demo-pod-1 with schedulerName {SCHEDULER}")
        self.kubectl("delete", "pod", "demo-pod-1", "--ignore-not-found", "--wait=true")
        self.apply({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "demo-pod-1", "namespace": "default"},
            "spec": {"schedulerName": SCHEDULER,
                     "containers": [{"name": "app", "image": "example.invalid/app:v1"}]},
        })  # fmt: skip
        node: str = wait_for(
            lambda: self.kubectl("get", "pod", "demo-pod-1", "-o",
                                 "jsonpath={.spec.nodeName}").strip() or None,
            what="demo-pod-1 to be scheduled", timeout=60, alive=self._alive,
        )  # fmt: skip
        print(self.kubectl("get", "pod", "demo-pod-1", "-o", "wide"))
        return node


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("wasmgate_demo_assets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    demo = Demo(default_state_dir())
    demo.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
