"""Prometheus metrics of wasmgate, defined once so every stage records into the same series.

Stages call the small `record_*` functions with plain values (a reason, a byte count, seconds)
instead of touching prometheus objects, which keeps the label sets in one place and lets the
stages stay independent of each other. Labels are bounded: results and condition reasons are
fixed vocabularies, and per-object labels are used only for gauges of live objects (a plugin's
staging states), whose series disappear with the object (`forget_plugin`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

NAMESPACE = "wasmgate"
# Seconds: registry round trips and dry runs take from milliseconds to the 30 s call limits.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Bytes: scheduler plugins are typically 100 KiB to a few MiB; the largest allowed is 64 MiB.
SIZE_BUCKETS = tuple(float(2**power) for power in range(14, 27, 2))
# Wasmtime fuel units consumed by all dry-run calls of one validation.
FUEL_BUCKETS = tuple(float(10**power) for power in range(3, 11))
ROLLBACK_STEPS = frozenset({"RolledBack"})

registry: CollectorRegistry = REGISTRY

reconciles = Counter(
    "reconciles",
    "WasmPlugin pipeline passes, by result (ready, failed, retry, progressing) and the reason "
    "of the Ready condition or of the temporary error",
    ["result", "reason"],
    namespace=NAMESPACE,
    registry=registry,
)
stage_runs = Counter(
    "stage_runs",
    "Pipeline stage executions (resolve, verify, validate, ...), by outcome and reason",
    ["stage", "result", "reason"],
    namespace=NAMESPACE,
    registry=registry,
)
stage_duration = Histogram(
    "stage_duration_seconds",
    "Wall time of one pipeline stage execution",
    ["stage"],
    namespace=NAMESPACE,
    registry=registry,
    buckets=DURATION_BUCKETS,
)
fetch_bytes = Counter(
    "fetch_bytes",
    "Bytes of wasm modules fetched from registries",
    namespace=NAMESPACE,
    registry=registry,
)
fetch_size = Histogram(
    "fetch_size_bytes",
    "Size of one fetched wasm module",
    namespace=NAMESPACE,
    registry=registry,
    buckets=SIZE_BUCKETS,
)
fetch_duration = Histogram(
    "fetch_duration_seconds",
    "Wall time of one module fetch, by result (ok or the failure reason)",
    ["result"],
    namespace=NAMESPACE,
    registry=registry,
    buckets=DURATION_BUCKETS,
)
verifications = Counter(
    "verifications",
    "Signature verifications, by result (verified, rejected) and reason",
    ["result", "reason"],
    namespace=NAMESPACE,
    registry=registry,
)
validations = Counter(
    "validations",
    "Module validations, by verdict (pass, fail, error), reason, and whether the cached "
    "report answered",
    ["verdict", "reason", "cached"],
    namespace=NAMESPACE,
    registry=registry,
)
validation_fuel = Histogram(
    "validation_fuel",
    "Wasmtime fuel consumed by all dry-run calls of one (uncached) validation",
    namespace=NAMESPACE,
    registry=registry,
    buckets=FUEL_BUCKETS,
)
validation_duration = Histogram(
    "validation_duration_seconds",
    "Wall time of one (uncached) validation, dry run included",
    namespace=NAMESPACE,
    registry=registry,
    buckets=DURATION_BUCKETS,
)
staging_nodes = Gauge(
    "staging_nodes",
    "Nodes per staging state (Pulling, Ready, Failed) of each WasmPlugin",
    ["plugin", "state"],
    namespace=NAMESPACE,
    registry=registry,
)
node_cache_entries = Gauge(
    "node_cache_entries",
    "Entries of this node's store per state (agent only)",
    ["state"],
    namespace=NAMESPACE,
    registry=registry,
)
rollout_steps = Counter(
    "rollout_steps",
    "Scheduler rollout steps reached (Started, Progressing, Succeeded, RolledBack, Failed, ...)",
    ["step"],
    namespace=NAMESPACE,
    registry=registry,
)
rollbacks = Counter(
    "rollbacks",
    "Scheduler rollouts rolled back to the previous revision",
    namespace=NAMESPACE,
    registry=registry,
)


def record_reconcile(result: str, reason: str) -> None:
    """One WasmPlugin pass ended with `result` for `reason`."""
    reconciles.labels(result=result, reason=reason).inc()


def record_stage(stage: str, result: str, reason: str, seconds: float) -> None:
    """One stage ran: `result` is success, failed (permanent) or retry (temporary)."""
    stage_runs.labels(stage=stage, result=result, reason=reason).inc()
    stage_duration.labels(stage=stage).observe(seconds)


def record_fetch(result: str, seconds: float, size: int = 0) -> None:
    """One module fetch: `result` is "ok" or the failure reason; `size` in bytes when ok."""
    fetch_duration.labels(result=result).observe(seconds)
    if size:
        fetch_bytes.inc(size)
        fetch_size.observe(size)


def record_verification(result: str, reason: str) -> None:
    """One signature verification: `result` is verified or rejected."""
    verifications.labels(result=result, reason=reason).inc()


def record_validation(
    verdict: str, reason: str, *, cached: bool, fuel: int, seconds: float
) -> None:
    """One validation; the cost histograms count only validations that ran a dry run."""
    validations.labels(verdict=verdict, reason=reason, cached=str(cached).lower()).inc()
    if not cached:
        validation_fuel.observe(fuel)
        validation_duration.observe(seconds)


_staging_series: dict[str, set[str]] = {}
"""The states each plugin has a staging series for: looking them up in the gauge walked every
series of every plugin, on every staging write."""
_staging_lock = threading.Lock()


def set_staging_states(plugin: str, nodes_by_state: Mapping[str, int]) -> None:
    """The staging states of one plugin now; states absent from the mapping count 0."""
    with _staging_lock:
        states = _staging_series.setdefault(plugin, set())
        for state in states - set(nodes_by_state):
            staging_nodes.labels(plugin=plugin, state=state).set(0)
        for state, count in nodes_by_state.items():
            staging_nodes.labels(plugin=plugin, state=state).set(count)
        states.update(nodes_by_state)


def forget_plugin(plugin: str) -> None:
    """Drop the series of a deleted plugin."""
    with _staging_lock:
        for state in _staging_series.pop(plugin, set()):
            staging_nodes.remove(plugin, state)


def set_node_cache_states(entries_by_state: Mapping[str, int]) -> None:
    """The agent's store entries per state now."""
    for state, count in entries_by_state.items():
        node_cache_entries.labels(state=state).set(count)


def record_rollout(step: str) -> None:
    """A scheduler rollout reached `step` (a `rollout.machine.Step` value)."""
    rollout_steps.labels(step=step).inc()
    if step in ROLLBACK_STEPS:
        rollbacks.inc()
