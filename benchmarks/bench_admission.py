"""Admission latency with and without the wasmgate webhook, through a real kube-apiserver.

Run:
    .venv/bin/python benchmarks/bench_admission.py            # starts its own kit
    .venv/bin/python benchmarks/bench_admission.py --count 200 --concurrency 20

For each of "without webhook" and "with webhook" (same apiserver, same run) it times COUNT
sequential WasmPlugin CREATEs, then COUNT CREATEs issued by CONCURRENCY threads, each measured
from the client (Python kubernetes client -> apiserver -> webhook -> etcd), and prints p50/p99 and
the with/without ratio. The cluster holds one Enforce WasmTrustPolicy and a cosign key Secret the
plugins reference, so every review reads a Secret, a WasmScheduler and the policies.

Both modes run the real operator (`wasmgate run`), once with `--no-webhook` and once serving the
webhook, so both pay the same reconcile work for every plugin created (a resolve that fails on
the unresolvable registry.example.com, a status write). On a small machine that reconcile burst
dominates; `--dry-run` sends server dry-run CREATEs (admitted, webhook included, not stored), so
nothing is reconciled and the webhook's own cost shows.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes import client, config

from wasmgate_kit.build import binary_path, build_all
from wasmgate_kit.kit import Kit
from wasmgate_kit.net import free_port
from wasmgate_kit.operator_command import FREE_PORT, operator_argv, wasmgate_environment
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

ROOT = Path(__file__).resolve().parents[1]
GROUP, VERSION, PLURAL = "wasmgate.dev", "v1alpha1", "wasmplugins"
CONFIGURATION = "bench.wasmgate.dev"
WARMUP = 50
HTTP_OK = 200


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(binary_path("kubectl")), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout + result.stderr


def _setup(kubeconfig: Path) -> None:
    _kubectl(kubeconfig, "apply", "--server-side", "-k", str(ROOT / "crds"))
    _kubectl(kubeconfig, "wait", "--for=condition=Established", "crd", "--all")
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    manifest = f"""
apiVersion: v1
kind: Secret
metadata: {{name: bench-key, namespace: default}}
data: {{cosign.pub: {base64.b64encode(public).decode()}}}
---
apiVersion: wasmgate.dev/v1alpha1
kind: WasmTrustPolicy
metadata: {{name: bench-policy}}
spec: {{mode: Enforce, allowedRegistries: ["registry.example.com/**"]}}
---
apiVersion: wasmgate.dev/v1alpha1
kind: WasmScheduler
metadata: {{name: wasmgate-scheduler}}
spec: {{image: "registry.example.com/kube-scheduler-wasm-extension:v0.1.0"}}
"""
    _kubectl(kubeconfig, "apply", "-f", "-", stdin=manifest)


def _plugin(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "WasmPlugin",
        "metadata": {"name": name},
        "spec": {
            "source": {"image": "registry.example.com/scheduling/bench:v1"},
            "verify": {"keys": [{"secretRef": {"name": "bench-key", "namespace": "default"}}]},
        },
    }


class Creator:
    """One API client per thread: the kubernetes client's pools are not meant to be shared."""

    def __init__(self, kubeconfig: Path, dry_run: bool = False) -> None:
        self.kubeconfig = kubeconfig
        self.local = threading.local()
        self.dry_run = "All" if dry_run else None

    def api(self) -> client.CustomObjectsApi:
        if not hasattr(self.local, "api"):
            api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(self.kubeconfig)
            )
            self.local.api = client.CustomObjectsApi(api_client)
        api: client.CustomObjectsApi = self.local.api
        return api

    def create(self, name: str) -> float:
        started = time.perf_counter()
        self.api().create_cluster_custom_object(
            GROUP, VERSION, PLURAL, _plugin(name), dry_run=self.dry_run
        )
        return (time.perf_counter() - started) * 1000


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _run(creator: Creator, prefix: str, count: int, concurrency: int) -> list[float]:
    names = [f"{prefix}-{i}" for i in range(count)]
    if concurrency == 1:
        return [creator.create(name) for name in names]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(creator.create, names))


def _delete_all(kubeconfig: Path) -> None:
    # One DELETE of the collection: `kubectl delete --all --wait` watches each object in turn,
    # which takes minutes for thousands.
    api = Creator(kubeconfig).api()
    api.delete_collection_cluster_custom_object(GROUP, VERSION, PLURAL)

    def empty() -> bool:
        listing = cast(
            dict[str, Any], api.list_cluster_custom_object(GROUP, VERSION, PLURAL, limit=1)
        )
        return not listing["items"]

    wait_for(
        empty,
        what="every WasmPlugin to be deleted",
        timeout=300,
        interval=1,
    )


def _measure(
    creator: Creator, kubeconfig: Path, label: str, count: int, concurrency: int
) -> dict[str, list[float]]:
    _run(creator, f"{label}-warmup", WARMUP, 1)
    results = {
        "sequential": _run(creator, f"{label}-seq", count, 1),
        f"{concurrency}-way": _run(creator, f"{label}-par", count, concurrency),
    }
    _delete_all(kubeconfig)
    return results


@contextmanager
def _kit() -> Iterator[Path]:
    build_all()
    with tempfile.TemporaryDirectory(prefix="bench-admission-") as directory:
        kit = Kit(state_dir=Path(directory) / "kit", nodes=1)
        kit.start()
        try:
            yield kit.kubeconfig
        finally:
            kit.stop()


def _live(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our http:// URL)
        return bool(response.status == HTTP_OK)


@contextmanager
def _operator(kubeconfig: Path, work: Path, webhook: bool) -> Iterator[None]:
    """`wasmgate run`, with or without the webhook, ready when it returns."""
    liveness = f"http://127.0.0.1:{free_port()}/healthz"
    argv = operator_argv(
        kubeconfig,
        webhook_port=FREE_PORT if webhook else None,
        webhook_cert_dir=work / "certs",
        extra=[f"--liveness={liveness}", f"--webhook-configuration={CONFIGURATION}"],
    )
    label = "with" if webhook else "without"
    process = ManagedProcess(
        "wasmgate-operator",
        argv,
        work / f"operator-{label}-webhook.log",
        env=wasmgate_environment(),
    )
    process.start()
    probe = _plugin("bench-probe")
    probe["spec"]["source"]["image"] = "ghcr.io/elsewhere/bench:v1"
    creator = Creator(kubeconfig)

    def denied() -> bool:
        try:
            creator.api().create_cluster_custom_object(GROUP, VERSION, PLURAL, probe, dry_run="All")
        except client.ApiException as e:
            return "WasmTrustPolicy bench-policy" in str(e.body)
        return False

    try:
        wait_for(
            lambda: _live(liveness), what="operator liveness", timeout=90, alive=process.check_alive
        )
        if webhook:
            wait_for(
                denied, what="the webhook to deny a probe", timeout=90, alive=process.check_alive
            )
        yield
    finally:
        process.stop()
        if webhook:
            _kubectl(kubeconfig, "delete", "validatingwebhookconfiguration", CONFIGURATION)


def _report(without: dict[str, list[float]], with_: dict[str, list[float]]) -> None:
    print(f"{'mode':<12}{'webhook':>9}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for mode in without:
        for label, samples in (("without", without[mode]), ("with", with_[mode])):
            print(
                f"{mode:<12}{label:>9}{_percentile(samples, 0.5):>9.2f}"
                f"{_percentile(samples, 0.99):>9.2f}{statistics.fmean(samples):>9.2f}"
            )
    print()
    for mode in without:
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            base = _percentile(without[mode], fraction)
            hooked = _percentile(with_[mode], fraction)
            print(
                f"{mode:<12}{name}: with/without = {hooked / base:.2f}x, "
                f"webhook adds {hooked - base:+.2f} ms"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="CREATEs per mode (1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="threads (50)")
    parser.add_argument("--kubeconfig", type=Path, help="use this cluster instead of a new kit")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="server dry-run CREATEs: admitted (webhook included) but not stored, so the "
        "operator has nothing to reconcile and the webhook's own cost shows",
    )
    args = parser.parse_args(argv)
    if args.kubeconfig:
        return _bench(args.kubeconfig, args.count, args.concurrency, args.dry_run)
    with _kit() as kubeconfig:
        return _bench(kubeconfig, args.count, args.concurrency, args.dry_run)


def _bench(kubeconfig: Path, count: int, concurrency: int, dry_run: bool) -> int:
    _setup(kubeconfig)
    _delete_all(kubeconfig)
    creator = Creator(kubeconfig, dry_run)
    with tempfile.TemporaryDirectory(prefix="bench-admission-") as work:
        with _operator(kubeconfig, Path(work), webhook=False):
            without = _measure(creator, kubeconfig, "without", count, concurrency)
        with _operator(kubeconfig, Path(work), webhook=True):
            with_ = _measure(creator, kubeconfig, "with", count, concurrency)
    _report(without, with_)
    return 0


if __name__ == "__main__":
    sys.exit(main())
