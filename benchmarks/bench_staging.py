"""Benchmark of staging: how fast agents fill their stores, what it costs the apiserver, and the
agent's memory while it pulls a large blob.

Run:  .venv/bin/python benchmarks/bench_staging.py [--plugins 50] [--blob-mb 100]
      [--state-dir DIR]   # reuse a kit started with `wasmgate-kit up --state-dir DIR`

Prints:
- 50 plugins (64 KiB modules, pushed beforehand) staged on 3 nodes by 3 agent processes: wall
  time from the first WasmPlugin created to every cache reporting every digest Ready, and the
  Kubernetes API requests the agents sent per plugin (list, watch, secret, cache create and
  status patches; measured by the agents' own request counters);
- one agent's resident memory while it stages a 100 MB blob: idle RSS, peak RSS, and peak minus
  idle (target: under 64 MB).
Nothing is asserted; the numbers are for people and for docs/staging.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from kubernetes import client, config  # noqa: E402

from support.staging_kit import (  # noqa: E402 - the tests' helpers, after the path is set
    AgentProcess,
    Pushed,
    apply_crds,
    cache_entry,
    create_scheduler,
    delete_if_present,
    module_bytes,
    node_cache,
    push_module,
    stage_plugin,
    wait_entry_state,
)
from wasmgate_kit.build import binary_path, build_all  # noqa: E402
from wasmgate_kit.kit import Kit, read_state  # noqa: E402
from wasmgate_kit.nodes import kit_node_name  # noqa: E402
from wasmgate_kit.wait import wait_for  # noqa: E402

LABEL = "wasmgate.dev/bench-staging"
SMALL_MODULE = 64 * 1024
NODES = [kit_node_name(i) for i in range(3)]


class Cluster:
    """A kubeconfig, a registry host and a kubectl, from a running kit or a new one."""

    def __init__(self, state_dir: Path | None, scratch: Path) -> None:
        self.kit: Kit | None = None
        state = read_state(state_dir) if state_dir else None
        if state is None:
            build_all()
            self.kit = Kit(state_dir=scratch / "kit")
            self.kit.start()
            state = self.kit.state()
        self.kubeconfig = Path(state["kubeconfig"])
        self.registry = state["registries"]["oci"]["host"]

    def kubectl(self, *args: Any) -> None:
        subprocess.run(
            [str(binary_path("kubectl")), "--kubeconfig", str(self.kubeconfig), *map(str, args)],
            check=True,
            capture_output=True,
        )

    def api(self) -> client.ApiClient:
        api: client.ApiClient = config.new_client_from_config(config_file=str(self.kubeconfig))
        return api

    def stop(self) -> None:
        if self.kit is not None:
            self.kit.stop()


def _requests(stats: Path) -> int:
    return int(json.loads(stats.read_text())["apiRequests"]) if stats.exists() else 0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_many_plugins(cluster: Cluster, scratch: Path, count: int) -> dict[str, float]:
    api = cluster.api()
    scheduler = f"bench-{uuid.uuid4().hex[:6]}"
    create_scheduler(api, scheduler, {LABEL: "yes"})
    pushed = [
        push_module(cluster.registry, f"bench/p{i}", module_bytes(f"{scheduler}-{i}", SMALL_MODULE),
                    scratch)
        for i in range(count)
    ]  # fmt: skip
    agents = []
    for node in NODES:
        stats = scratch / f"stats-{node}.json"
        agents.append((AgentProcess(node, scratch / f"store-{node}", cluster.kubeconfig,
                                    cluster.registry, scratch, "--resync", "30",
                                    "--stats-file", str(stats)).start(), stats))  # fmt: skip
    names = [f"{scheduler}-p{i}" for i in range(count)]
    try:
        for node in NODES:
            wait_for(lambda n=node: node_cache(api, n) is not None or _synced(scratch, n),
                     what=f"agent {node} up", timeout=60)  # fmt: skip
        time.sleep(2)
        baseline = {stats: _requests(stats) for _, stats in agents}
        started = time.monotonic()
        for name, module in zip(names, pushed, strict=True):
            stage_plugin(api, name, module, scheduler)
        created = time.monotonic() - started
        for node in NODES:
            wait_for(lambda n=node: _all_ready(api, n, pushed), what=f"{node} 50 Ready",
                     timeout=600, interval=0.05)  # fmt: skip
        elapsed = time.monotonic() - started
        time.sleep(1)
        spent = sum(_requests(stats) - baseline[stats] for _, stats in agents)
        return {
            "plugins": count,
            "nodes": len(NODES),
            "seconds": round(elapsed, 2),
            "secondsCreatingPlugins": round(created, 2),
            "agentApiRequestsPerPlugin": round(spent / count, 2),
            "agentApiRequestsPerPluginPerNode": round(spent / count / len(NODES), 2),
        }
    finally:
        for agent, _ in agents:
            agent.stop()
        for name in names:
            delete_if_present(api, "wasmplugins", name)
        delete_if_present(api, "wasmschedulers", scheduler)


def _synced(scratch: Path, node: str) -> bool:
    return (scratch / f"stats-{node}.json").exists()


def _all_ready(api: client.ApiClient, node: str, pushed: list[Pushed]) -> bool:
    cache = node_cache(api, node) or {}
    ready = {
        e["digest"] for e in cache.get("status", {}).get("entries", []) if e["state"] == "Ready"
    }
    return all(p.layer_digest in ready for p in pushed)


def bench_rss(cluster: Cluster, scratch: Path, blob_mb: int) -> dict[str, float]:
    api = cluster.api()
    scheduler = f"bench-rss-{uuid.uuid4().hex[:6]}"
    create_scheduler(api, scheduler, {LABEL: "yes"})
    node = NODES[0]
    big = push_module(cluster.registry, "bench/big", module_bytes(scheduler, blob_mb << 20),
                      scratch)  # fmt: skip
    agent = AgentProcess(node, scratch / "store-rss", cluster.kubeconfig, cluster.registry,
                         scratch, "--resync", "30").start()  # fmt: skip
    name = f"{scheduler}-big"
    try:
        time.sleep(4)  # imports done, lists and watches open
        idle = 0
        for _ in range(10):
            idle = max(idle, _rss_kib(agent.pid))
            time.sleep(0.1)
        peak = idle
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _rss_kib(agent.pid))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        stage_plugin(api, name, big, scheduler)
        wait_entry_state(api, node, big.layer_digest, "Ready", timeout=600)
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
        entry = cache_entry(api, node, big.layer_digest) or {}
        return {
            "blobBytes": big.data_size,
            "storedBytes": entry.get("size", 0),
            "seconds": round(elapsed, 2),
            "idleRssMiB": round(idle / 1024, 1),
            "peakRssMiB": round(peak / 1024, 1),
            "peakAboveIdleMiB": round((peak - idle) / 1024, 1),
        }
    finally:
        agent.stop()
        delete_if_present(api, "wasmplugins", name)
        delete_if_present(api, "wasmschedulers", scheduler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=50)
    parser.add_argument("--blob-mb", type=int, default=100)
    parser.add_argument("--state-dir", type=Path, help="state dir of a running `wasmgate-kit up`")
    parser.add_argument("--work-dir", type=Path, help="keep stores and agent logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-staging-") as tmp:
        scratch = Path(tmp) if args.work_dir is None else args.work_dir
        scratch.mkdir(parents=True, exist_ok=True)
        cluster = Cluster(args.state_dir, scratch)
        try:
            apply_crds(cluster.kubectl)
            for node in NODES:
                cluster.kubectl("label", "node", node, f"{LABEL}=yes", "--overwrite")
            many = bench_many_plugins(cluster, scratch, args.plugins)
            print(json.dumps({"stagingManyPlugins": many}))
            rss = bench_rss(cluster, scratch, args.blob_mb)
            print(json.dumps({"agentMemoryLargeBlob": rss}))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
