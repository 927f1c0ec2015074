"""Benchmark of the whole path: `kubectl apply` of a signed plugin to the first pod it schedules.

Run:  .venv/bin/python benchmarks/bench_rollout.py [--runs 3] [--work-dir DIR]

A fresh kit with a real node (kubelet, containerd, runc) where the scheduler pods run, pods of
upstream's scheduler image built and pushed by the kit; the operator and one agent per node as
local processes (`start_wasmgate`); one WasmScheduler placed on the real node
(`scheduler_spec`). Each run pushes a new version of the sample filter plugin (same module,
another custom section, so a new digest), signs it with cosign, `kubectl apply`s the WasmPlugin
and polls every 50 ms for the first moment each condition (Resolved, Verified, Validated, Staged,
RolledOut) is True for that generation; then it creates a pod with the scheduler's schedulerName
and waits until it is bound. Stage times are the gaps between those moments. Resolve, verify and
validate end in one status write, so the poll cannot split them: their split is the operator's
own stage timer (the `wasmgate_stage_duration_seconds` sums, read from its metrics endpoint
before and after).

Also watched through the Kubernetes API, to explain `roll` and `bind`: when a scheduler pod of the
new revision (label wasmgate.dev/config-hash) exists and when it is Ready, when the last pod of
the previous revision is gone, when the scheduler's leader-election lease changes hands.
Reference: the kit's default kube-scheduler binding an ordinary pod (apply -> bound), measured in
the same run; printed as total / reference. Prints one JSON line per run and a summary (medians
over the completed runs). A run whose rollout fails is printed with the scheduler's revisions
and its pods with their containers' states, and left out of the medians; the next run (a new
version) rolls afresh. Nothing is asserted; the numbers are for docs/rollout.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from kubernetes import client  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from support.registries import of_kit  # noqa: E402 - the tests' helpers, after the path is set
from support.signing import BUNDLE, cosign_sign, make_key  # noqa: E402
from support.wasm_assets import load_builder, with_custom_section  # noqa: E402
from wasmgate.api.base import GROUP, VERSION  # noqa: E402
from wasmgate.rollout.names import LABEL_CONFIG_HASH, LABEL_SCHEDULER  # noqa: E402
from wasmgate_kit.build import binary_path, build_all  # noqa: E402
from wasmgate_kit.kit import Kit  # noqa: E402
from wasmgate_kit.net import LOOPBACK, free_port, http_status  # noqa: E402
from wasmgate_kit.process import ManagedProcess  # noqa: E402
from wasmgate_kit.real_schedulers import scheduler_spec  # noqa: E402
from wasmgate_kit.system import OPERATOR_PROCESS, SYSTEM_NAMESPACE, start_wasmgate  # noqa: E402
from wasmgate_kit.wait import WaitTimeout, wait_for  # noqa: E402

SCHEDULER = "bench-rollout"
PLUGIN = "bench-node-digit"
SIGNING_KEY_SECRET = "bench-rollout-key"  # noqa: S105 - a Secret's name
POLL = 0.05
TIMEOUT = 300.0
SETTLE_TIMEOUT = 120.0
CONDITIONS = ("Resolved", "Verified", "Validated", "Staged", "RolledOut")
OPERATOR_STAGES = ("resolve", "verify", "validate")
# (stage, from, to): a stage is the gap between two first-seen moments of one run.
STAGES = (
    ("apply", "start", "applied"),
    ("resolve", "applied", "Resolved"),
    ("verify", "Resolved", "Verified"),
    ("validate", "Verified", "Validated"),
    ("stage", "Validated", "Staged"),
    ("roll", "Staged", "RolledOut"),
    ("bind", "RolledOut", "bound"),
    ("total", "start", "bound"),
)
Body = dict[str, Any]


class RunFailed(Exception):
    """A run whose plugin did not roll out; the next run (a new version) starts afresh."""


class Bench:
    """The kit with wasmgate on it, and the moments one run has seen so far."""

    def __init__(self, work: Path) -> None:
        self.work = work
        build_all()
        self.kit = Kit(state_dir=work / "kit", real_node=True)
        self.kit.start()
        self.processes = start_wasmgate(self.kit)
        self.metrics_port = self._operator_with_metrics()
        self.api = self.kit.api_client()
        self.registry = of_kit(self.kit)["oci"]
        self.key = make_key(binary_path("cosign"), "p256", work / "key")
        secret = self.kubectl(
            "create", "secret", "generic", SIGNING_KEY_SECRET, "-n", SYSTEM_NAMESPACE,
            f"--from-file=cosign.pub={self.key.public}", "--dry-run=client", "-o", "json",
        )  # fmt: skip
        self.kubectl("apply", "-f", "-", stdin=secret)
        self.module = load_builder().build_c("filter_node_name_suffix", work).read_bytes()
        self.moments: dict[str, float] = {}
        self.failure = ""
        self.start = 0.0

    def _operator_with_metrics(self) -> int:
        """`start_wasmgate` runs the operator without its metrics endpoint; run it again with
        one (same argv otherwise), so the stage timers can be read."""
        index = next(i for i, p in enumerate(self.processes) if p.name == OPERATOR_PROCESS)
        old = self.processes[index]
        old.stop()
        port = free_port()
        new = ManagedProcess(OPERATOR_PROCESS, [*old.argv, f"--metrics-port={port}"], old.log_path)
        new.start()
        self.processes[index] = new
        wait_for(lambda: http_status(f"http://{LOOPBACK}:{port}/readyz") == 200,
                 what="operator ready", timeout=120, alive=self.check_alive)  # fmt: skip
        return port

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def kubectl(self, *args: str | Path, stdin: str | None = None) -> str:
        argv = [str(binary_path("kubectl")), f"--kubeconfig={self.kit.kubeconfig}", *map(str, args)]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"`{' '.join(argv)}` failed:\n{done.stderr}")
        return done.stdout

    def get(self, plural: str, name: str) -> Body:
        body: Body = client.CustomObjectsApi(self.api).get_cluster_custom_object(
            GROUP, VERSION, plural, name
        )
        return body

    def publish(self, tag: str) -> str:
        """Push a new version with `wasmgate push`, sign it (bundle); the tag reference."""
        path = self.work / f"plugin-{tag}.wasm"
        path.write_bytes(with_custom_section(self.module, f"bench-{tag}"))
        image = f"{self.registry.host}/bench/{PLUGIN}:{tag}"
        pushed = subprocess.run(
            [sys.executable, "-m", "wasmgate", "push", "--plain-http", str(path), image],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        by_digest = f"{image.rsplit(':', 1)[0]}@{pushed.stdout.strip()}"
        cosign_sign(binary_path("cosign"), self.registry, by_digest, self.key, BUNDLE, self.work)
        return image

    def stage_seconds(self) -> dict[str, float]:
        """The operator's summed time per pipeline stage so far."""
        url = f"http://{LOOPBACK}:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        sums = {stage: 0.0 for stage in OPERATOR_STAGES}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                stage = sample.labels.get("stage", "")
                if sample.name == "wasmgate_stage_duration_seconds_sum" and stage in sums:
                    sums[stage] = sample.value
        return sums

    # -- the moments of one run -------------------------------------------------------------

    def mark(self, moment: str) -> None:
        self.moments.setdefault(moment, time.monotonic() - self.start)

    def scheduler_pods(self) -> list[Any]:
        """The scheduler's pods still alive (terminating ones too: their process still runs)."""
        listed = client.CoreV1Api(self.api).list_namespaced_pod(
            SYSTEM_NAMESPACE, label_selector=f"{LABEL_SCHEDULER}={SCHEDULER}"
        )
        return [p for p in listed.items if p.status.phase in ("Pending", "Running")]

    def scheduler_runs(self) -> dict[str, bool]:
        """Config hash -> Ready, of the scheduler pods alive right now."""
        runs: dict[str, bool] = {}
        for pod in self.scheduler_pods():
            config_hash = (pod.metadata.labels or {}).get(LABEL_CONFIG_HASH, "")
            ready = any(
                c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
            )
            runs[config_hash] = runs.get(config_hash, False) or ready
        return runs

    def revisions(self) -> list[Body]:
        status = self.get("wasmschedulers", SCHEDULER).get("status") or {}
        return list(status.get("revisions") or [])

    def lease_holder(self) -> str:
        try:
            lease = client.CoordinationV1Api(self.api).read_namespaced_lease(
                SCHEDULER, SYSTEM_NAMESPACE
            )
        except client.ApiException as e:
            if e.status == 404:
                return ""
            raise
        return str(lease.spec.holder_identity or "")

    def explain(self) -> str:
        """The scheduler's revisions and its pods with their containers, for a failed run."""
        lines = [
            json.dumps(
                {r["revision"]: [r["outcome"], r["configMapName"]] for r in self.revisions()}
            )
        ]
        for pod in self.scheduler_pods():
            conditions = {c.type: c.status for c in pod.status.conditions or []}
            lines.append(
                f"pod {pod.metadata.name} {pod.status.phase} {conditions} "
                f"deleting={pod.metadata.deletion_timestamp is not None}"
            )
            statuses = [*(pod.status.init_container_statuses or []),
                        *(pod.status.container_statuses or [])]  # fmt: skip
            for container in statuses:
                state = container.state.to_dict() if container.state else {}
                waiting = {k: v for k, v in state.items() if v}
                lines.append(
                    f"  container {container.name}: ready={container.ready} "
                    f"restarts={container.restart_count} state={waiting}"
                )
        return "\n".join(lines)

    def before(self) -> tuple[int, set[str], str]:
        """What runs before an apply: the newest revision, the pods' hashes, the leader."""
        newest = max((int(r["revision"]) for r in self.revisions()), default=0)
        return newest, set(self.scheduler_runs()), self.lease_holder()

    def observer(self, generation: int, before: tuple[int, set[str], str]) -> Callable[[], None]:
        """One look at the plugin, the scheduler's revisions, its pods and its lease;
        marks each moment the first time it is seen."""
        newest, old_hashes, old_holder = before
        target = ""

        def observe() -> None:
            nonlocal target
            self.check_alive()
            status = self.get("wasmplugins", PLUGIN).get("status") or {}
            for condition in status.get("conditions") or []:
                current = int(condition.get("observedGeneration") or 0) >= generation
                if condition["type"] in CONDITIONS and current:
                    if condition["status"] == "True":
                        self.mark(condition["type"])
                    elif condition["status"] == "False":
                        # Not raised: wait_for takes a probe's exception for an observation.
                        self.failure = f"{PLUGIN} failed: {json.dumps(condition)}"
            if not target:
                started = [r for r in self.revisions() if int(r["revision"]) > newest]
                if not started:
                    return
                self.mark("revisionStarted")
                target = str(started[-1]["configMapName"]).rsplit("-", 1)[-1]
            runs = self.scheduler_runs()
            if target in runs:
                self.mark("newSchedulerStarted")
            if runs.get(target):
                self.mark("newSchedulerHealthy")
            if not set(runs) & old_hashes:
                self.mark("oldSchedulerStopped")
            if self.lease_holder() not in ("", old_holder):
                self.mark("leaseTaken")

        return observe

    def create_scheduler(self) -> None:
        scheduler = {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmScheduler",
            "metadata": {"name": SCHEDULER},
            "spec": {**scheduler_spec(self.kit), "rollout": {"progressDeadlineSeconds": 90}},
        }  # fmt: skip
        self.kubectl("apply", "-f", "-", stdin=json.dumps(scheduler))

    def wait_settled(self) -> None:
        """Until no revision is rolling out and only the active one runs, healthy and leading:
        every run starts from the same state (a scheduler already running)."""

        def settled() -> bool:
            revisions = self.revisions()
            active = {str(r["configMapName"]).rsplit("-", 1)[-1] for r in revisions
                      if r["outcome"] == "Active"}  # fmt: skip
            progressing = any(r["outcome"] == "Progressing" for r in revisions)
            runs = self.scheduler_runs()
            healthy = bool(runs) and all(runs.values())
            return not progressing and set(runs) == active and healthy and self.lease_holder() != ""

        try:
            wait_for(settled, what=f"{SCHEDULER} settled", timeout=SETTLE_TIMEOUT,
                     alive=self.check_alive)  # fmt: skip
        except WaitTimeout as e:
            raise RunFailed(f"{e}\n{self.explain()}") from e

    def run(self, index: int) -> dict[str, Any]:
        image = self.publish(f"v{index}")
        operator_before = self.stage_seconds()
        plugin = {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmPlugin",
            "metadata": {"name": PLUGIN},
            "spec": {
                "source": {"image": image},
                "verify": {"keys": [{"secretRef": {"namespace": SYSTEM_NAMESPACE,
                                                   "name": SIGNING_KEY_SECRET}}]},
                "scheduler": {"schedulers": [SCHEDULER]},
            },
        }  # fmt: skip
        before = self.before()
        self.moments, self.failure, self.start = {}, "", time.monotonic()
        started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        applied = self.kubectl("apply", "-f", "-", "-o", "jsonpath={.metadata.generation}",
                               stdin=json.dumps(plugin))  # fmt: skip
        self.mark("applied")
        observe = self.observer(int(applied), before)

        def rolled_out() -> bool:
            observe()
            return "RolledOut" in self.moments or bool(self.failure)

        try:
            wait_for(rolled_out, what=f"{PLUGIN} rolled out", timeout=TIMEOUT, interval=POLL)
        except WaitTimeout as e:
            self.failure = str(e)
        if self.failure:
            raise RunFailed(f"{self.failure}\n{self.explain()}")
        # The pod's last digit picks the node whose name ends with it (the plugin's default rule).
        pod = f"bench-rollout-{index}-{index % self.kit.nodes}"
        node = self.bind_pod(pod, SCHEDULER, observe)
        self.mark("bound")
        operator_after = self.stage_seconds()

        def at(moment: str) -> float:
            return 0.0 if moment == "start" else self.moments[moment]

        return {
            "run": index,
            "startedAt": started_at,
            "pod": pod,
            "node": node,
            "ruleHeld": node[-1] == pod[-1],
            # The lease left the previous revision's pod before the pod was bound.
            "boundByNewRevision": "leaseTaken" in self.moments,
            "stages": {name: round(at(b) - at(a), 3) for name, a, b in STAGES},
            "operatorStageSeconds": {
                s: round(operator_after[s] - operator_before[s], 3) for s in OPERATOR_STAGES
            },
            "moments": {
                k: round(v, 3) for k, v in sorted(self.moments.items(), key=lambda i: i[1])
            },
        }

    def bind_pod(self, name: str, scheduler: str | None, observe: Callable[[], None]) -> str:
        """`kubectl apply` a pod and wait until it is bound; its node."""
        spec: Body = {"containers": [{"name": "app", "image": "registry.example/app:v1"}]}
        if scheduler is not None:
            spec["schedulerName"] = scheduler
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "default"}, "spec": spec}  # fmt: skip
        self.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
        core = client.CoreV1Api(self.api)

        def bound() -> str | None:
            observe()
            node = core.read_namespaced_pod(name, "default").spec.node_name
            return str(node) if node else None

        node: str = wait_for(bound, what=f"pod {name} bound", timeout=TIMEOUT, interval=POLL)
        return node

    def reference(self, index: int) -> float:
        """Seconds from `kubectl apply` of an ordinary pod to its binding by kube-scheduler."""
        started = time.monotonic()
        self.bind_pod(f"bench-reference-{index}", None, self.check_alive)
        return round(time.monotonic() - started, 3)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.kit.stop()


def summary(runs: list[dict[str, Any]], references: list[float]) -> dict[str, Any]:
    medians = {
        name: round(statistics.median(run["stages"][name] for run in runs), 3)
        for name, _, _ in STAGES
    }
    operator = {
        stage: round(statistics.median(run["operatorStageSeconds"][stage] for run in runs), 3)
        for stage in OPERATOR_STAGES
    }
    reference = round(statistics.median(references), 3)
    return {
        "runsCompleted": len(runs),
        "medianStageSeconds": medians,
        "medianOperatorStageSeconds": operator,
        "medianReferenceSeconds": reference,
        "totalOverReference": round(medians["total"] / reference, 1),
        "everyPodFollowedTheRule": all(run["ruleHeld"] for run in runs),
        "everyPodBoundByNewRevision": all(run["boundByNewRevision"] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, help="keep the kit's state and logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        work = Path(tmp) if args.work_dir is None else args.work_dir
        work.mkdir(parents=True, exist_ok=True)
        bench = Bench(work)
        try:
            bench.create_scheduler()
            runs, references, failed = [], [], []
            for index in range(1, args.runs + 1):
                try:
                    bench.wait_settled()
                except RunFailed as e:
                    # After a failed rollout the kit may never settle (docs/rollout.md,
                    # Benchmark): report what completed instead of waiting on.
                    failed.append(f"stopped before run {index}: {str(e).splitlines()[0]}")
                    print(json.dumps({"run": index, "failed": str(e)}), flush=True)
                    break
                references.append(bench.reference(index))
                try:
                    runs.append(bench.run(index))
                except RunFailed as e:
                    failed.append(f"run {index}: {str(e).splitlines()[0]}")
                    print(json.dumps({"run": index, "failed": str(e)}), flush=True)
                    continue
                print(json.dumps({**runs[-1], "referenceSeconds": references[-1]}), flush=True)
            if not runs:
                raise SystemExit(f"no run completed: {failed}")
            print(json.dumps({"summary": {**summary(runs, references), "failedRuns": failed}}))
        finally:
            bench.stop()


if __name__ == "__main__":
    main()
