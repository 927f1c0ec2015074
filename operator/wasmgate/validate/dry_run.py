"""The dynamic half of validation: run the guest through one scheduling cycle under limits.

Like the scheduler, the guest is instantiated with WASI preview1 (no preopened directories, no
environment, no arguments, no sockets) and the `k8s.io/*` host modules, then `_start` runs when
exported. Every exported extension point is then called at least once, in cycle order, per node
where the scheduler calls it per node. Each call gets a fresh fuel budget and wall-clock deadline
(epoch interruption); the store caps linear memory. A trap, an exhausted limit or a result the
scheduler cannot use fails the dry run with the call that caused it named.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import wasmtime

from wasmgate.errors import AbiMismatch, DryRunErrorStatus, DryRunTrapped
from wasmgate.validate import abi
from wasmgate.validate.host import CallState, GuestOutput, HostCallRejected, HostEnvironment
from wasmgate.validate.report import CallRecord
from wasmgate.validate.settings import ValidationLimits
from wasmgate.validate.snapshot import ClusterSnapshot

EPOCH_TICK_SECONDS = 0.002
MAX_TABLE_ELEMENTS = 1_000_000
WAZERO_MAX_MEMORY_BYTES = 65536 * 65536  # 65536 pages of 64 KiB, wasm32's and wazero's ceiling
INSTANTIATE = "instantiate"


@contextmanager
def epoch_ticker(engine: wasmtime.Engine) -> Iterator[None]:
    """Advance the engine's epoch in the background so deadlines interrupt running guests."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(EPOCH_TICK_SECONDS):
            engine.increment_epoch()

    thread = threading.Thread(target=tick, name="wasmgate-epoch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _deadline_ticks(milliseconds: int) -> int:
    return math.ceil(milliseconds / 1000 / EPOCH_TICK_SECONDS) + 1


def _trap_detail(error: wasmtime.WasmtimeError | wasmtime.Trap) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = lines[-1] if lines else type(error).__name__
    frame = next((line for line in lines if line[:1].isdigit() and ":" in line), None)
    return f"{cause} (at {' '.join(frame.split())})" if frame else cause


@dataclass(frozen=True)
class _Budget:
    fuel: int
    milliseconds: int
    fuel_setting: str
    time_setting: str


class DryRun:
    """One instantiation of the guest and the calls of one scheduling cycle."""

    def __init__(
        self,
        engine: wasmtime.Engine,
        module: wasmtime.Module,
        limits: ValidationLimits,
        snapshot: ClusterSnapshot,
        guest_config: str,
        log_severity: int,
        calls: list[CallRecord],
        output: GuestOutput,
    ) -> None:
        self.engine = engine
        self.module = module
        self.limits = limits
        self.snapshot = snapshot
        self.calls = calls
        self.output = output
        self.host = HostEnvironment(snapshot, guest_config, log_severity, output)
        self.warnings: list[str] = []
        """What upstream tolerates but looks risky: shown in the report, never a refusal."""
        self.store = wasmtime.Store(engine)
        self._warn_about_declared_memory(module)
        # Upstream caps guest memory only at wazero's 4 GiB; the validator child caps it at its
        # own data limit. spec.limits.memoryPages is a warning threshold (see run()).
        memory_bytes = min(WAZERO_MAX_MEMORY_BYTES, limits.child_data_bytes)
        self.store.set_limits(memory_size=memory_bytes, table_elements=MAX_TABLE_ELEMENTS)
        self._call_budget = _Budget(
            limits.call_fuel, limits.call_time_ms, "spec.limits.fuel", "spec.limits.callTimeoutMs"
        )
        self._start_budget = _Budget(
            limits.start_fuel,
            limits.start_time_ms,
            "spec.limits.fuel",
            "spec.limits.startTimeoutMs",
        )
        self._exports: dict[str, Any] = {}
        self._exit_code: int | None = None
        self._scheduling_guest = False

    def _warn_about_declared_memory(self, module: wasmtime.Module) -> None:
        """Upstream (wazero) allocates a declared minimum for every guest instance in its pool:
        the plugin loads, but the scheduler pod pays that memory."""
        pages = max(
            (e.type.limits.min for e in module.exports if isinstance(e.type, wasmtime.MemoryType)),
            default=0,
        )
        if pages > self.limits.memory_pages:
            self.warnings.append(
                f"memory declares {pages} initial pages ({pages * 64 // 1024} MiB), above "
                f"spec.limits.memoryPages ({self.limits.memory_pages}); upstream allocates them "
                "for every guest instance, so size the scheduler pod's memory for it or declare "
                "less and grow on demand"
            )

    def _warn_about_memory_growth(self) -> None:
        peak = max((c.memory_pages for c in self.calls), default=0)
        declared_warning = any(w.startswith("memory declares") for w in self.warnings)
        if peak > self.limits.memory_pages and not declared_warning:
            self.warnings.append(
                f"guest memory grew to {peak} pages ({peak * 64 // 1024} MiB) in one scheduling "
                f"cycle, above spec.limits.memoryPages ({self.limits.memory_pages}); upstream "
                "sets no limit, so size the scheduler pod's memory for it"
            )

    # Plumbing

    def _memory_pages(self) -> int:
        memory = self._exports.get(abi.MEMORY_EXPORT)
        return memory.size(self.store) if isinstance(memory, wasmtime.Memory) else 0

    def _failure_message(self, where: str, error: BaseException, budget: _Budget) -> str:
        if isinstance(error, HostCallRejected):
            return f"{where}: {error}"
        if isinstance(error, wasmtime.ExitTrap):
            return (
                f"{where} called proc_exit({error.code}); the scheduler's runtime (wazero) "
                "closes a module that exits, so every later call would fail: return instead"
            )
        if isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return (
                f"{where} ran out of fuel after {budget.fuel} units ({budget.fuel_setting}): "
                "an endless loop, or too much work for a scheduling call"
            )
        if isinstance(error, wasmtime.Trap) and error.trap_code == wasmtime.TrapCode.INTERRUPT:
            return (
                f"{where} exceeded its wall-clock budget of {budget.milliseconds} ms "
                f"({budget.time_setting}): an endless loop, or too much work for a scheduling call"
            )
        pages = self._memory_pages()
        memory_note = f"guest memory {pages} pages"
        ceiling = min(WAZERO_MAX_MEMORY_BYTES, self.limits.child_data_bytes) // 65536
        if pages * 4 >= ceiling * 3:
            memory_note += (
                f": near the validator's ceiling of {ceiling} pages (validator setting "
                "child_data_bytes), where memory.grow returns -1 and allocators abort"
            )
        if isinstance(error, wasmtime.Trap | wasmtime.WasmtimeError):
            detail = _trap_detail(error)
            # ENOMEM from mmap/mprotect (the child's rlimits), or the store's ceiling, which is
            # the child's data limit too.
            if "os error 12" in detail or "exceeds memory limits" in detail:
                gib = self.limits.child_data_bytes / 1024**3
                memory_note += (
                    f"; the validator child may use {gib:.1f} GiB of memory "
                    "(validator setting child_data_bytes)"
                )
            return f"{where} trapped: {detail} ({memory_note})"
        return f"{where} failed: {type(error).__name__}: {error} ({memory_note})"

    def _invoke(
        self,
        point: str,
        node: str | None,
        budget: _Budget,
        action: Callable[[], Any],
    ) -> tuple[Any, CallRecord]:
        self.store.set_fuel(budget.fuel)
        self.store.set_epoch_deadline(_deadline_ticks(budget.milliseconds))
        where = point if node is None else f"{point} (node {node})"
        started = time.perf_counter_ns()
        try:
            value = action()
        except (wasmtime.Trap, wasmtime.WasmtimeError, HostCallRejected) as e:
            record = self._record(point, node, budget, started)
            message = self._failure_message(where, e, budget)
            update: dict[str, Any] = {"error": message}
            if isinstance(e, wasmtime.Trap) and e.trap_code == wasmtime.TrapCode.INTERRUPT:
                update["fuel"] = None
            self.calls.append(record.model_copy(update=update))
            raise DryRunTrapped(message) from e
        return value, self._record(point, node, budget, started)

    def _record(self, point: str, node: str | None, budget: _Budget, started: int) -> CallRecord:
        micros = (time.perf_counter_ns() - started) // 1000
        return CallRecord(
            point=point,
            node=node,
            fuel=budget.fuel - self.store.get_fuel(),
            micros=micros,
            memory_pages=self._memory_pages(),
        )

    # Instantiation

    def instantiate(self, has_start: bool) -> None:
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        self.host.define(linker)
        wasi = wasmtime.WasiConfig()
        wasi.stdout_custom = self.output.stream("stdout: ")
        wasi.stderr_custom = self.output.stream("stderr: ")
        self.store.set_wasi(wasi)

        def start() -> None:
            instance = linker.instantiate(self.store, self.module)
            self._exports = dict(instance.exports(self.store).items())
            start_fn = self._exports.get(abi.START_EXPORT)
            if isinstance(start_fn, wasmtime.Func):
                try:
                    start_fn(self.store)
                except wasmtime.ExitTrap as e:
                    # wazero fails instantiation on a non-zero exit; exit 0 finishes it: the
                    # plugin loads and every call into the closed module fails.
                    if e.code != 0:
                        raise
                    self._exit_code = e.code

        # Recorded as one call: instantiation (start section included) plus `_start` if any.
        point = abi.START_EXPORT if has_start else INSTANTIATE
        _, record = self._invoke(point, None, self._start_budget, start)
        self.calls.append(record)

    # Calls

    def call(self, point: str, state: CallState, node: str | None = None) -> CallRecord:
        """Call one extension point with `state` as its inputs; check and record the result."""
        spec = abi.EXTENSION_POINTS_BY_NAME[point]
        self._refuse_what_upstream_cannot_call(point, node)
        func = self._exports[point]
        self.host.call = state
        if point in abi.SCHEDULING_GUEST_POINTS:
            self._scheduling_guest = True
        try:
            raw, record = self._invoke(point, node, self._call_budget, lambda: func(self.store))
        except DryRunTrapped as e:
            if not self._only_logged_upstream(spec, e):
                raise
            self.warnings.append(
                f"{e.message}; upstream only logs a failing {point} and carries on, so the "
                "plugin loads, but whatever it does there is lost: fix the guest"
            )
            return self.calls[-1]
        record = self._decode(spec, raw, state, record)
        self.calls.append(record)
        self._check(spec, record, state)
        return record

    @staticmethod
    def _only_logged_upstream(spec: abi.ExtensionPoint, error: DryRunTrapped) -> bool:
        """A trap in unreserve or postbind: upstream logs it (no status to return, no panic).

        Exhausted fuel or time is not among them: upstream sets no limit, so it would hang.
        """
        limits = (wasmtime.TrapCode.OUT_OF_FUEL, wasmtime.TrapCode.INTERRUPT)
        cause = error.__cause__
        if spec.result is not abi.ResultKind.NONE or spec.name == "enqueue":
            return False
        if isinstance(cause, wasmtime.ExitTrap):
            return False
        return isinstance(cause, HostCallRejected) or (
            isinstance(cause, wasmtime.Trap) and cause.trap_code not in limits
        )

    def _refuse_what_upstream_cannot_call(self, point: str, node: str | None) -> None:
        where = point if node is None else f"{point} (node {node})"
        if self._exit_code is not None:
            self._refuse(
                point,
                node,
                DryRunTrapped(
                    f"{where} called a closed module: _start called proc_exit({self._exit_code}) "
                    "and the scheduler's runtime (wazero) closes a module that exits, so every "
                    "call fails: return from _start instead"
                ),
            )
        if point not in self._exports:
            partner = next(
                a if b == point else b for a, b in abi.CALLED_IN_PAIRS if point in (a, b)
            )
            self._refuse(
                point,
                node,
                AbiMismatch(
                    f"{where} is not exported, but upstream calls it on every plugin that exports "
                    f"{partner} and panics on the missing function: export {point} too"
                ),
            )
        if point in abi.BINDING_GUEST_POINTS and not self._scheduling_guest:
            self._refuse(
                point,
                node,
                AbiMismatch(
                    f"{where}: upstream runs the binding cycle on the guest of the scheduling "
                    "cycle, and this plugin exports no scheduling-cycle function (prefilter, "
                    "filter, score, reserve, permit, ...), so upstream panics with "
                    '"unexpected podUID": export one of them, e.g. permit returning Success'
                ),
            )

    def _refuse(self, point: str, node: str | None, error: AbiMismatch | DryRunTrapped) -> None:
        record = CallRecord(point=point, node=node, fuel=0, micros=0, error=error.message)
        self.calls.append(record)
        raise error

    @staticmethod
    def _decode(
        spec: abi.ExtensionPoint, raw: Any, state: CallState, record: CallRecord
    ) -> CallRecord:
        update: dict[str, Any] = {"reason": state.status_reason}
        if spec.result is abi.ResultKind.NONE:
            return record.model_copy(update=update)
        value = int(raw) & 0xFFFFFFFFFFFFFFFF
        high, low = _signed32(value >> 32), _signed32(value)
        if spec.result is abi.ResultKind.STATUS:
            code = low
        elif spec.result is abi.ResultKind.SCORE:
            code, update["score"] = low, high
        elif spec.result is abi.ResultKind.POSTFILTER:
            code = low
            update["nominated_node_name"] = state.nominated_node_name
        else:  # PERMIT packs the code in the high half and a timeout in the low half.
            code, update["permit_timeout_ms"] = high, value & 0xFFFFFFFF
        update["status_code"] = code
        update["status"] = abi.status_name(code)
        if spec.name == "prefilter":
            update["node_names"] = state.node_names
        if spec.name == "normalizescore":
            update["normalized_scores"] = state.normalized_scores
        return record.model_copy(update=update)

    def _check(self, spec: abi.ExtensionPoint, record: CallRecord, state: CallState) -> None:
        where = spec.name if record.node is None else f"{spec.name} (node {record.node})"
        problems = []
        if record.status_code is not None and record.status_code not in abi.STATUS_NAMES:
            problems.append(
                f"{where} returned status code {record.status_code}; the scheduler framework "
                f"knows codes 0..{max(abi.STATUS_NAMES)} "
                f"({', '.join(f'{k} {v}' for k, v in abi.STATUS_NAMES.items())})"
            )
        normalizes = "normalizescore" in self._exports
        if (
            spec.name == "score"
            and record.status_code == abi.STATUS_SUCCESS
            and not normalizes
            and record.score is not None
            and not abi.MIN_NODE_SCORE <= record.score <= abi.MAX_NODE_SCORE
        ):
            problems.append(
                f"{where} returned score {record.score}; without normalizescore the scheduler "
                f"requires {abi.MIN_NODE_SCORE}..{abi.MAX_NODE_SCORE} and fails the cycle otherwise"
            )
        if spec.name == "normalizescore":
            # Upstream (plugin/guest.go normalizeScore) keeps the node scores when the guest
            # sets no list; a list of another length panics (plugin.go NormalizeScore).
            normalized = state.normalized_scores or state.node_scores
            if len(normalized) != len(state.node_scores):
                problems.append(
                    f"{where} set {len(normalized)} normalized scores for "
                    f"{len(state.node_scores)} nodes (result.normalized_score_list); "
                    "upstream panics on a size mismatch, crashing the scheduler"
                )
            out_of_range = {
                k: v
                for k, v in normalized.items()
                if not abi.MIN_NODE_SCORE <= v <= abi.MAX_NODE_SCORE
            }
            if out_of_range:
                problems.append(f"{where} normalized scores outside 0..100: {out_of_range}")
        if problems:
            message = "; ".join(problems)
            self.calls[-1] = self.calls[-1].model_copy(update={"error": message})
            raise AbiMismatch(message)
        if record.status_code == abi.STATUS_ERROR:
            # Upstream returns the guest's Error to the framework, which fails the pod's
            # scheduling cycle (unlike Unschedulable): a plugin that answers Error here would
            # do it to real pods too.
            reason = record.reason or "no reason given"
            message = (
                f"{where} answered Error ({reason!r}); the scheduler fails the scheduling cycle "
                "of a pod on Error: check spec.scheduler.guestConfig and the plugin's "
                "documentation, or return Unschedulable for a node the plugin rejects"
            )
            self.calls[-1] = self.calls[-1].model_copy(update={"error": message})
            raise DryRunErrorStatus(message)

    # The cycle

    def run_cycle(self, points: list[str]) -> None:
        reachable, never_called = abi.reachable_points(set(points))
        for point in never_called:
            self.warnings.append(
                f"{point} is exported but upstream never calls it: its mask.go keeps {point} "
                "only for plugins that also export the main function of its group "
                "(filter for postfilter, score for prescore/normalizescore, bind for "
                "prebind/postbind); export that function or drop this one"
            )
        snap = self.snapshot
        pod = snap.pod
        base = CallState(current_pod=pod)
        all_nodes = snap.node_names

        if "enqueue" in reachable:
            self.call("enqueue", CallState())
        candidates = all_nodes
        if "prefilter" in reachable:
            record = self.call("prefilter", replace(base))
            chosen = [n for n in all_nodes if n in set(record.node_names or ())]
            if record.status_code == abi.STATUS_SUCCESS and chosen:
                candidates = chosen
        for point in ("addpod", "removepod"):
            if point in reachable:
                running = snap.running_pod
                state = replace(base, target_pod=running, current_node=running.node_name)
                self.call(point, state)

        statuses: dict[str, int] = {}
        if "filter" in reachable:
            for node in candidates:
                record = self.call("filter", replace(base, current_node=node), node)
                statuses[node] = record.status_code or 0
        feasible = [n for n in candidates if statuses.get(n, abi.STATUS_SUCCESS) == 0]
        if "postfilter" in reachable:
            failed = {n: c for n, c in statuses.items() if c != abi.STATUS_SUCCESS}
            self.call("postfilter", replace(base, node_to_status=failed))

        # Score even when every node was filtered out, so that score gets a verdict too.
        scored = feasible or candidates
        if "prescore" in reachable:
            self.call("prescore", replace(base, filtered_nodes=list(scored)))
        scores: dict[str, int] = {}
        if "score" in reachable:
            for node in scored:
                record = self.call("score", replace(base, current_node=node), node)
                scores[node] = record.score or 0
        if "normalizescore" in reachable:
            node_scores = scores or dict.fromkeys(scored, 0)
            self.call("normalizescore", replace(base, node_scores=node_scores))

        chosen_node = max(scored, key=lambda n: scores.get(n, 0))
        for point in ("reserve", "permit", "prebind", "bind", "postbind", "unreserve"):
            if point in reachable:
                self.call(point, replace(base, current_node=chosen_node))

    def run(self, points: list[str], has_start: bool) -> None:
        with epoch_ticker(self.engine):
            self.instantiate(has_start)
            self.run_cycle(points)
        self._warn_about_memory_growth()


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
