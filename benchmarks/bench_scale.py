"""Benchmark of scale: N WasmPlugins of one signed artifact, spread over enough WasmSchedulers.

Run:  .venv/bin/python benchmarks/bench_scale.py [--plugins 20 100] [--per-scheduler 50]
      [--timeout 300] [--work-dir DIR]

A fresh kit with a real node (kubelet, containerd, runc) where the scheduler pods run (pods of
upstream's scheduler image, built and pushed by the kit; `scheduler_spec`), one agent per node,
and the operator (`wasmgate run`, the same argv `wasmgate-kit up` uses) whose API traffic goes
through a counting proxy on loopback: the operator's kubeconfig names the proxy (plain HTTP, no
credentials), the proxy forwards every request over TLS with the kit's credentials and counts it
by verb and resource. So only the operator's requests are counted: kubectl, the agents, the real
node's kubelet and this script talk to the apiserver directly. (The kit's apiserver runs without
audit logging or priority-and-fairness, so its own metrics cannot tell clients apart.)

For each N (runs share the kit, one after the other): ceil(N / per-scheduler) WasmSchedulers
(one scheduler loads at most 64 plugins), N plugins applied, then polled
every 0.5 s until every plugin's phase is Ready. The plugins are applied by one `kubectl apply`
per WasmScheduler, all running at once. Printed: seconds the apply took (each plugin
passes the admission webhook), seconds to all Ready, operator RSS
before / at all Ready / after every plugin is deleted and 15 s have passed / 120 s after the
deletion ("later", `--later` to change it) (all of it, and its anonymous part, the heap), RSS
every 15 s after the deletion until then, and the operator's
API requests and CPU milliseconds per plugin from the apply to all Ready (requests by verb and
resource). Nothing is asserted;
the numbers are for docs/operations.md (sizing). A warm-up run of one plugin comes first (its
line shows the operator's RSS before any plugin, cold, and after it), so that "before" is the
operator with its code loaded and nothing to manage.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import json
import math
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from kubernetes import client, config  # noqa: E402

from support.registries import of_kit  # noqa: E402 - the tests' helpers, after the path is set
from support.signing import make_key, push_signed  # noqa: E402
from support.wasm_assets import load_builder  # noqa: E402
from wasmgate.api.base import GROUP, VERSION  # noqa: E402
from wasmgate_kit.build import binary_path, build_all  # noqa: E402
from wasmgate_kit.kit import Kit  # noqa: E402
from wasmgate_kit.net import LOOPBACK, free_port  # noqa: E402
from wasmgate_kit.process import ManagedProcess  # noqa: E402
from wasmgate_kit.real_schedulers import scheduler_spec  # noqa: E402
from wasmgate_kit.system import OPERATOR_PROCESS, SYSTEM_NAMESPACE, start_wasmgate  # noqa: E402
from wasmgate_kit.wait import wait_for  # noqa: E402

KEY_SECRET = "bench-scale-key"  # noqa: S105 - a Secret's name
SCHEDULER_LABEL = "bench.wasmgate.dev/scheduler"
POLL = 0.5
SETTLE_AFTER_DELETE = 15.0
LATER_AFTER_DELETE = 120.0
"""RSS is read again this long after the deletions: memory freed in pieces (allocator arenas
that still held a few live objects) comes back as those objects are replaced."""
TIMELINE_STEP = 15.0
Body = dict[str, Any]
# Hop-by-hop headers and those aiohttp recomputes; a request body is forwarded as it came (the
# client may compress it), a response body decompressed (aiohttp does that itself).
_DROPPED = {"host", "connection", "content-length", "transfer-encoding"}
_DROPPED_FROM_RESPONSES = {*_DROPPED, "content-encoding"}
_NAMED = re.compile(
    r"^/(?:api/v1|apis/[^/]+/[^/]+)(?:/namespaces/[^/]+)?/([^/]+)(?:/([^/]+))?(?:/(.+))?$"
)


def _classify(method: str, path: str, query: dict[str, str]) -> tuple[str, str]:
    """(verb, resource) of a Kubernetes API request, as the apiserver's metrics name them."""
    match = _NAMED.match(path)
    if match is None:
        return method.lower(), path
    plural, name, sub = match.groups()
    if plural == "namespaces" and name is not None and sub is not None:
        # /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]] was read as namespaces/<ns>/...
        parts = sub.split("/")
        plural, name, sub = parts[0], parts[1] if len(parts) > 1 else None, "/".join(parts[2:])
    resource = f"{plural}/{sub}" if sub else plural
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else "get" if name else "list"
    else:
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(
            method, method.lower()
        )
    return verb, resource


class CountingProxy:
    """A plain-HTTP loopback proxy to the apiserver that counts requests by verb and resource."""

    def __init__(self, kubeconfig: Path) -> None:
        self._conf = client.Configuration()
        config.load_kube_config(str(kubeconfig), client_configuration=self._conf)
        self.port = free_port()
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._guard = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(30)

    def snapshot(self) -> collections.Counter[tuple[str, str]]:
        with self._guard:
            return collections.Counter(self.counts)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.run_forever()

    async def _serve(self) -> None:
        context = ssl.create_default_context(cafile=self._conf.ssl_ca_cert)
        if self._conf.cert_file:
            context.load_cert_chain(self._conf.cert_file, self._conf.key_file)
        headers = {}
        token = self._conf.api_key.get("authorization")
        if token:
            headers["Authorization"] = token
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            headers=headers,
            auto_decompress=True,
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, LOOPBACK, self.port).start()
        self._ready.set()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        verb_resource = _classify(request.method, request.path, dict(request.query))
        with self._guard:
            self.counts[verb_resource] += 1
        forwarded = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        body = await request.read()
        async with self._session.request(
            request.method,
            self._conf.host + request.path_qs,
            headers=forwarded,
            data=body or None,
            # The Python client may send a body without Content-Type (the apiserver reads JSON
            # then); aiohttp would add application/octet-stream, which it refuses.
            skip_auto_headers=("Content-Type",),
        ) as upstream:
            headers = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in _DROPPED_FROM_RESPONSES
            }
            response = web.StreamResponse(status=upstream.status, headers=headers)
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except ConnectionResetError:
                pass  # the operator closed a watch (it stopped, or restarts the watch): not news
            except aiohttp.ClientPayloadError:
                pass  # the apiserver ended a watch mid-stream (the kit stops it at the end)
            return response

    def kubeconfig(self, path: Path) -> Path:
        server = f"http://{LOOPBACK}:{self.port}"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "proxy", "cluster": {"server": server}}],
                    "users": [{"name": "operator", "user": {}}],
                    "contexts": [
                        {"name": "proxy", "context": {"cluster": "proxy", "user": "operator"}}
                    ],
                    "current-context": "proxy",
                }
            )
        )
        return path


def rss_mb(pid: int | None, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB: all of it (VmRSS), or its anonymous part (RssAnon:
    the heap, as opposed to RssFile, the pages of its code and libraries)."""
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int | None) -> float:
    """CPU time a process has used so far (user and system), in seconds."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, work: Path, operator_env: dict[str, str]) -> None:
        self.work = work
        self.operator_env = operator_env
        build_all()
        # Resolved once: the kit's component hashes follow the checkout, which may change
        # while the benchmark runs.
        self.kubectl_bin, self.cosign_bin = binary_path("kubectl"), binary_path("cosign")
        self.kit = Kit(state_dir=work / "kit", real_node=True)
        self.kit.start()
        self.processes = start_wasmgate(self.kit)
        self.proxy = CountingProxy(self.kit.kubeconfig)
        self.operator = self._operator_through_proxy()
        self.api = self.kit.api_client()
        self.custom = client.CustomObjectsApi(self.api)
        self.image = self._publish()

    def _operator_through_proxy(self) -> ManagedProcess:
        index = next(i for i, p in enumerate(self.processes) if p.name == OPERATOR_PROCESS)
        old = self.processes[index]
        old.stop()
        kubeconfig = self.proxy.kubeconfig(self.work / "operator-kubeconfig.json")
        argv = [a if not a.startswith("--kubeconfig=") else f"--kubeconfig={kubeconfig}"
                for a in old.argv]  # fmt: skip
        env = {**(old.env or os.environ), **self.operator_env}
        new = ManagedProcess(OPERATOR_PROCESS, argv, old.log_path, env=env)
        new.start()
        self.processes[index] = new
        # Ready when it has listed what it watches: the WasmPlugin watch is open.
        wait_for(lambda: self.proxy.snapshot()[("watch", "wasmplugins")] > 0,
                 what="operator watching through the proxy", timeout=120,
                 alive=new.check_alive)  # fmt: skip
        time.sleep(3)
        return new

    def kubectl(self, *args: str | Path, stdin: str | None = None, timeout: float = 300.0) -> str:
        argv = [str(self.kubectl_bin), f"--kubeconfig={self.kit.kubeconfig}", *map(str, args)]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise SystemExit(f"`{' '.join(argv[:4])} ...` failed:\n{done.stderr}")
        return done.stdout

    def _all_at_once(self, commands: list[tuple[list[str], str | None]], timeout: float) -> None:
        """Run kubectl once per (arguments, stdin), all at the same time."""
        with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
            running = [
                pool.submit(self.kubectl, *args, stdin=stdin, timeout=timeout)
                for args, stdin in commands
            ]
            for command in running:
                command.result()

    def _publish(self) -> str:
        key = make_key(self.cosign_bin, "p256", self.work / "key")
        secret = self.kubectl(
            "create", "secret", "generic", KEY_SECRET, "-n", SYSTEM_NAMESPACE,
            f"--from-file=cosign.pub={key.public}", "--dry-run=client", "-o", "json",
        )  # fmt: skip
        self.kubectl("apply", "-f", "-", stdin=secret)
        module = load_builder().build_c("filter_node_name_suffix", self.work)
        registry = of_kit(self.kit)["oci"]
        image = f"{registry.host}/bench-scale/filter:v1"
        push_signed(self.cosign_bin, registry, module, image, key, self.work)
        return image

    def _plugins(self) -> list[Body]:
        listed = self.custom.list_cluster_custom_object(GROUP, VERSION, "wasmplugins")
        return list(listed["items"])

    def run(
        self, count: int, per_scheduler: int, timeout: float, later: float = LATER_AFTER_DELETE
    ) -> Body:
        schedulers = [f"bench-scale-{index}" for index in range(math.ceil(count / per_scheduler))]
        for name in schedulers:
            self.kubectl("apply", "-f", "-", stdin=json.dumps({
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "WasmScheduler",
                "metadata": {"name": name},
                "spec": scheduler_spec(self.kit),
            }))  # fmt: skip
        time.sleep(5)  # let the new schedulers' daemons settle before counting
        items = [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "WasmPlugin",
                "metadata": {
                    "name": f"scale-{index:04}",
                    "labels": {SCHEDULER_LABEL: schedulers[index % len(schedulers)]},
                },
                "spec": {
                    "source": {"image": self.image},
                    "verify": {
                        "keys": [{"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": KEY_SECRET}}]
                    },
                    "scheduler": {"schedulers": [schedulers[index % len(schedulers)]]},
                },
            }
            for index in range(count)
        ]
        rss_before = rss_mb(self.operator.pid)
        anon_before = rss_mb(self.operator.pid, "RssAnon")
        before = self.proxy.snapshot()
        cpu_before = cpu_seconds(self.operator.pid)
        start = time.monotonic()
        # One `kubectl apply` per WasmScheduler's plugins, all at once, as a GitOps tool syncing
        # several applications would; each plugin passes the admission webhook.
        batches = [items[index :: len(schedulers)] for index in range(len(schedulers))]
        self._all_at_once([
            (["apply", "-f", "-"], json.dumps({"apiVersion": "v1", "kind": "List", "items": batch}))
            for batch in batches
        ], timeout)  # fmt: skip
        applied_after = time.monotonic() - start
        ready_after: float | None = None
        phases: collections.Counter[str] = collections.Counter()
        while time.monotonic() - start < timeout:
            phases = collections.Counter(
                (p.get("status") or {}).get("phase", "") for p in self._plugins()
            )
            if phases["Ready"] == count:
                ready_after = time.monotonic() - start
                break
            self.operator.check_alive()
            time.sleep(POLL)
        during = self.proxy.snapshot() - before
        cpu_used = cpu_seconds(self.operator.pid) - cpu_before
        rss_ready = rss_mb(self.operator.pid)
        anon_ready = rss_mb(self.operator.pid, "RssAnon")
        # Deleted as they were applied, one kubectl per WasmScheduler's plugins at once.
        self._all_at_once([
            (["delete", "wasmplugins", "-l", f"{SCHEDULER_LABEL}={name}", "--wait=true"], None)
            for name in schedulers
        ], timeout)  # fmt: skip
        self._all_at_once([(["delete", "wasmscheduler", name, "--wait=true"], None)
                           for name in schedulers], timeout)  # fmt: skip
        deleted_at = time.monotonic()
        time.sleep(SETTLE_AFTER_DELETE)
        rss_after = rss_mb(self.operator.pid)
        anon_after = rss_mb(self.operator.pid, "RssAnon")
        # RSS every 15 s until "later": the operator gives memory back in steps (trims after
        # the deletions settle, then follow-ups), and the timeline shows when.
        timeline: list[tuple[int, int]] = []
        while (since := time.monotonic() - deleted_at) < later:
            time.sleep(min(TIMELINE_STEP, later - since))
            at = round(time.monotonic() - deleted_at)
            timeline.append((at, round(rss_mb(self.operator.pid))))
        rss_later = rss_mb(self.operator.pid)
        anon_later = rss_mb(self.operator.pid, "RssAnon")
        total = sum(during.values())
        by = {
            f"{verb} {resource}": round(n / count, 2)
            for (verb, resource), n in during.most_common()
        }
        return {
            "plugins": count,
            "schedulers": len(schedulers),
            "applied_seconds": round(applied_after, 1),
            "all_ready_seconds": round(ready_after, 1) if ready_after is not None else None,
            "phases_at_end": dict(phases),
            "rss_mb": {
                "before": round(rss_before),
                "ready": round(rss_ready),
                "after_delete": round(rss_after),
                "later": round(rss_later),
            },
            "rss_mb_after_delete_by_second": dict(timeline),
            "rss_anon_mb": {
                "before": round(anon_before),
                "ready": round(anon_ready),
                "after_delete": round(anon_after),
                "later": round(anon_later),
            },
            "operator_cpu_ms_per_plugin": round(cpu_used * 1000 / count),
            "requests_per_plugin": round(total / count, 2),
            "requests_per_plugin_by_verb_resource": by,
        }

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.kit.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plugins", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--per-scheduler", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument(
        "--later", type=float, default=LATER_AFTER_DELETE, metavar="SECONDS",
        help="when, after the deletions, to take the 'later' RSS",
    )  # fmt: skip
    parser.add_argument(
        "--operator-env", action="append", default=[], metavar="NAME=VALUE",
        help="an environment variable for the operator only, e.g. PYTHONMALLOC=pymalloc to "
        "measure CPython's small-object allocator against the image's PYTHONMALLOC=malloc",
    )  # fmt: skip
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    bench = Bench(work, dict(item.split("=", 1) for item in args.operator_env))
    try:
        # One plugin through the whole pipeline first: the operator imports and touches code it
        # needs only once a plugin arrives (signature verification, validation, rollout), and
        # that memory stays; the runs' "before" is the operator warm, with nothing to manage.
        cold = rss_mb(bench.operator.pid)
        warm_up = bench.run(1, args.per_scheduler, args.timeout)
        print(json.dumps({"warm_up": {"rss_mb_cold": round(cold), "rss_mb": warm_up["rss_mb"]}}),
              flush=True)  # fmt: skip
        for count in args.plugins:
            result = bench.run(count, args.per_scheduler, args.timeout, args.later)
            print(json.dumps(result), flush=True)
    finally:
        print(f"operator log: {bench.operator.log_path}", file=sys.stderr)
        bench.stop()


if __name__ == "__main__":
    main()
