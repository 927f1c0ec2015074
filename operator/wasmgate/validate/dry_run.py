"""The dynamic half of validation: run the guest through one scheduling cycle under limits.

Like the scheduler, the guest is instantiated with WASI preview1 (no preopened directories, no
environment, no arguments, no sockets) and the `k8s.io/*` host modules, then `_start` runs when
exported. Every exported extension point is then called at least once, in cycle order, per node
where the scheduler calls it per node. Each call gets a fresh fuel budget and wall-clock deadline
(epoch interruption); the store caps linear memory. A trap, an exhausted limit or a result the
scheduler cannot use fails the dry run with the call that caused it named.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import wasmtime

from wasmgate.errors import AbiMismatch, DryRunTrapped
from wasmgate.validate import abi
from wasmgate.validate.call_budget import (
    MAX_TABLE_ELEMENTS,
    Budget,
    call_budget,
    deadline_ticks,
    epoch_ticker,
    memory_ceiling_bytes,
    start_budget,
)
from wasmgate.validate.call_failure import failure_message
from wasmgate.validate.call_result import decode_result, result_refusal
from wasmgate.validate.host import CallState, GuestOutput, HostCallRejected, HostEnvironment
from wasmgate.validate.report import CallRecord
from wasmgate.validate.scheduling_cycle import never_called_warnings, run_scheduling_cycle
from wasmgate.validate.settings import ValidationLimits
from wasmgate.validate.snapshot import ClusterSnapshot

INSTANTIATE = "instantiate"


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
        self.store.set_limits(
            memory_size=memory_ceiling_bytes(limits), table_elements=MAX_TABLE_ELEMENTS
        )
        self._call_budget = call_budget(limits)
        self._start_budget = start_budget(limits)
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

    def _invoke(
        self,
        point: str,
        node: str | None,
        budget: Budget,
        action: Callable[[], Any],
    ) -> tuple[Any, CallRecord]:
        self.store.set_fuel(budget.fuel)
        self.store.set_epoch_deadline(deadline_ticks(budget.milliseconds))
        where = point if node is None else f"{point} (node {node})"
        started = time.perf_counter_ns()
        try:
            value = action()
        except (wasmtime.Trap, wasmtime.WasmtimeError, HostCallRejected) as e:
            record = self._record(point, node, budget, started)
            message = failure_message(where, e, budget, self._memory_pages(), self.limits)
            update: dict[str, Any] = {"error": message}
            if isinstance(e, wasmtime.Trap) and e.trap_code == wasmtime.TrapCode.INTERRUPT:
                update["fuel"] = None
            self.calls.append(record.model_copy(update=update))
            raise DryRunTrapped(message) from e
        return value, self._record(point, node, budget, started)

    def _record(self, point: str, node: str | None, budget: Budget, started: int) -> CallRecord:
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
        record = decode_result(spec, raw, state, record)
        self.calls.append(record)
        refusal = result_refusal(spec, record, state, "normalizescore" in self._exports)
        if refusal is not None:
            self.calls[-1] = self.calls[-1].model_copy(update={"error": refusal.message})
            raise refusal
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

    def run(self, points: list[str], has_start: bool) -> None:
        reachable, never_called = abi.reachable_points(set(points))
        with epoch_ticker(self.engine):
            self.instantiate(has_start)
            self.warnings.extend(never_called_warnings(never_called))
            run_scheduling_cycle(self.call, self.snapshot, reachable)
        self._warn_about_memory_growth()
