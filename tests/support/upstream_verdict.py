"""What upstream's own plugin code does with a guest, for the differential suite.

`upstream-verdict` (tools/go/upstream, built by the kit) loads a module through upstream's
`scheduler/plugin` package and drives it through the same scheduling cycle as wasmgate's dry run,
over the same synthetic cluster: `cluster_objects` renders the validator's snapshot as the
Kubernetes objects upstream's host encodes for the guest. The outcome is one of three:
the load fails, a call returns Error or panics (or never returns), or it runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from wasmgate.validate.report import ValidationReport
from wasmgate.validate.snapshot import ClusterSnapshot, SyntheticNode, SyntheticPod, build_snapshot

Outcome = Literal["load-fails", "call-fails", "runs"]
OUTCOMES: tuple[Outcome, ...] = ("load-fails", "call-fails", "runs")
# Longer than the validator's call budget: a call upstream finishes in time is not "hung".
CALL_TIMEOUT_SECONDS = 5
HARNESS_TIMEOUT_SECONDS = 120
AGREEMENT_KEY = pytest.StashKey[str]()
"""Where the differential suite leaves its agreement line for the end-of-run summary."""


# Report points of the load itself; a failure recorded anywhere else is a failing call.
LOAD_POINTS = ("_start", "instantiate")


def validator_outcome(report: ValidationReport) -> Outcome:
    """The class of the validator's verdict: where its dry run stopped, if it did."""
    if report.verdict == "pass":
        return "runs"
    failed = [call for call in report.calls if call.error]
    if not failed or failed[-1].point in LOAD_POINTS:
        return "load-fails"
    return "call-fails"


@dataclass(frozen=True)
class UpstreamVerdict:
    outcome: Outcome
    point: str | None
    detail: str | None
    calls: list[dict[str, Any]]


def _node_object(node: SyntheticNode) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": node.labels},
        "spec": {"unschedulable": node.unschedulable} if node.unschedulable else {},
        "status": {
            "capacity": node.capacity,
            "allocatable": node.allocatable,
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": node.name}],
            "images": [
                {"names": [image], "sizeBytes": size} for image, size in sorted(node.images.items())
            ],
        },
    }


def _pod_object(pod: SyntheticPod) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schedulerName": pod.scheduler_name,
        "containers": [
            {
                "name": c.name,
                "image": c.image,
                "resources": {"requests": c.requests, "limits": c.limits},
            }
            for c in pod.containers
        ],
    }
    if pod.node_name:
        spec["nodeName"] = pod.node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod.name,
            "namespace": pod.namespace,
            "uid": pod.uid,
            "labels": pod.labels,
        },
        "spec": spec,
    }


def cluster_objects(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """The snapshot as the harness reads it: {nodes, pod, runningPod} in Kubernetes JSON."""
    return {
        "nodes": [_node_object(n) for n in snapshot.nodes],
        "pod": _pod_object(snapshot.pod),
        "runningPod": _pod_object(snapshot.running_pod),
    }


def upstream_verdict(
    harness: Path, module: Path, work: Path, guest_config: str = "", nodes: int = 4
) -> UpstreamVerdict:
    """Run the harness on `module`; fails loudly (never skips) when the harness itself fails."""
    work.mkdir(parents=True, exist_ok=True)
    cluster = work / f"cluster-{nodes}.json"
    if not cluster.exists():
        cluster.write_text(json.dumps(cluster_objects(build_snapshot(nodes))))
    config = work / f"{module.name}.guest-config"
    config.write_text(guest_config)
    argv = [
        str(harness),
        f"--guest={module}",
        f"--cluster={cluster}",
        f"--guest-config-file={config}",
        f"--call-timeout={CALL_TIMEOUT_SECONDS}s",
    ]
    # No garbage collection: a guest looping in compiled code would stall it, and with it the
    # harness's own per-call timer. A run is short; the process exits before memory matters.
    env = {**os.environ, "GOGC": "off"}
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=HARNESS_TIMEOUT_SECONDS, env=env
        )
    except subprocess.TimeoutExpired as e:
        return _killed(e)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    raw = json.loads(done.stdout)
    outcome = raw["outcome"]
    if outcome not in OUTCOMES:
        raise RuntimeError(f"upstream-verdict printed an unknown outcome {outcome!r}")
    return UpstreamVerdict(outcome, raw.get("point"), raw.get("detail"), raw.get("calls") or [])


def _killed(error: subprocess.TimeoutExpired) -> UpstreamVerdict:
    """The harness itself hung: its last progress line names the call that never returned."""
    stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else ""
    started = [line.split()[1:] for line in stderr.splitlines() if line.startswith("calling ")]
    point = started[-1][0] if started else "load"
    detail = f"no return within {HARNESS_TIMEOUT_SECONDS} s (harness killed)"
    outcome: Outcome = "load-fails" if point == "load" else "call-fails"
    return UpstreamVerdict(outcome, None if point == "load" else point, detail, [])
