"""`make demo`: the whole path a plugin takes, on the local kit, narrated step by step.

It brings the kit up (or reuses it), runs the operator and one node agent per kwok node as
local processes, builds a sample filter plugin, validates it, pushes and signs it, applies a
WasmScheduler and a WasmPlugin, and follows the plugin's phase while the operator resolves,
verifies and validates it, the agents stage it on every node and the operator rolls the scheduler
Deployment (whose pod the kit kubelet runs as upstream's scheduler, a local process). Then a
demo pod with that schedulerName lands on the node the plugin picks.
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

from wasmgate.kit import build, supervisor
from wasmgate.kit.kit import read_state
from wasmgate.kit.paths import default_state_dir, repo_root
from wasmgate.kit.system import OPERATOR_PROCESS, SYSTEM_NAMESPACE
from wasmgate.kit.wait import wait_for

NAMESPACE = SYSTEM_NAMESPACE
PLUGIN = "node-digit"
SCHEDULER = "wasmgate-scheduler"
SIGN = ["--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "-y"]
STEP_TIMEOUT = 120.0


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
        self.install_crds()
        wasm = self.build_plugin()
        image, digest = self.push_and_sign(wasm)
        self.start_operator_and_agents()
        self.apply_objects(image)
        self.wait_ready()
        node = self.schedule_demo_pod()
        _step("done")
        print(self.kubectl("get", "wasmplugins", "-o", "wide"))
        print(f"plugin {PLUGIN} ({digest[:19]}) placed pod demo-pod-1 on node {node}")
        print(f"demo took {time.monotonic() - started:.0f}s; `wasmgate dev down` stops the kit")

    def kit_up(self) -> None:
        _step("building (or finding cached) kit components")
        build.build_all()
        _step("starting the kit: etcd, kube-apiserver, controller-manager, kwok, registries")
        if supervisor.running_supervisor(self.state_dir) is None:
            supervisor.start_detached(self.state_dir, nodes=3)
        state = read_state(self.state_dir)
        assert state is not None
        self.state = state
        self.kubeconfig = Path(state["kubeconfig"])
        self.registry = state["registries"]["oci"]["host"]
        print(self.kubectl("get", "nodes"))

    def install_crds(self) -> None:
        _step("installing the wasmgate CRDs")
        # `wasmgate dev up` installed them; applying again is a no-op that shows they are there.
        self.kubectl("apply", "-k", repo_root() / "crds")

    def build_plugin(self) -> Path:
        _step("building the sample plugin (C, clang --target=wasm32) and validating it")
        builder = _load(repo_root() / "tests" / "assets" / "wasm" / "build_assets.py")
        wasm: Path = builder.build_c("filter_node_name_suffix", self.work)
        print(_wasmgate("validate", wasm, "--config", "pod-digit"))
        return wasm

    def push_and_sign(self, wasm: Path) -> tuple[str, str]:
        _step(f"pushing to {self.registry} with `wasmgate push`, signing with cosign")
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

    def start_operator_and_agents(self) -> None:
        _step("the operator and one node agent per node run under the kit (`wasmgate dev up`)")
        running = [name for name in self.state["processes"] if name.startswith("wasmgate-")]
        if OPERATOR_PROCESS not in running:
            raise SystemExit("demo: the kit runs without the operator; `wasmgate dev down` first")
        print("\n".join(sorted(running)))

    def apply_objects(self, image: str) -> None:
        _step(f"applying WasmScheduler {SCHEDULER} and WasmPlugin {PLUGIN}")
        # A rerun starts from a fresh object, so no condition from the last run is mistaken
        # for this run's result.
        self.kubectl("delete", "wasmplugin", PLUGIN, "--ignore-not-found", "--wait=true")
        self.apply({
            "apiVersion": "wasmgate.dev/v1alpha1", "kind": "WasmScheduler",
            "metadata": {"name": SCHEDULER},
            "spec": {"schedulerName": SCHEDULER, "image": "kube-scheduler-wasm:kit",
                     "replicas": 1, "nodeSelector": {"wasmgate.dev/kit-node": "true"}},
        })  # fmt: skip
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
        for name, pid in self.state["processes"].items():
            if name.startswith("wasmgate-") and not supervisor.pid_alive(pid):
                log = self.state_dir / "logs" / f"{name}.log"
                raise SystemExit(f"demo: {name} died; see {log}")

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
        print(self.kubectl("get", "deployments,configmaps,pods", "-n", NAMESPACE,
                           "-l", "wasmgate.dev/component=scheduler"))  # fmt: skip

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
