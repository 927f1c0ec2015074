"""The sentence a failed guest call ends a dry run with.

A wasmtime trap prints a backtrace meant for the module's author; the status needs the cause,
the frame it happened in, the limit that stopped it (with the setting that raises it) and how
much memory the guest held, because a trap near the memory ceiling is an allocator giving up.
"""

from __future__ import annotations

import wasmtime

from wasmgate.validate.call_budget import WASM_PAGE_BYTES, Budget, memory_ceiling_bytes
from wasmgate.validate.host import HostCallRejected
from wasmgate.validate.settings import ValidationLimits


def trap_detail(error: wasmtime.WasmtimeError | wasmtime.Trap) -> str:
    """The cause of a trap and the first frame of its backtrace, on one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = lines[-1] if lines else type(error).__name__
    frame = next((line for line in lines if line[:1].isdigit() and ":" in line), None)
    return f"{cause} (at {' '.join(frame.split())})" if frame else cause


def failure_message(
    where: str,
    error: BaseException,
    budget: Budget,
    memory_pages: int,
    limits: ValidationLimits,
) -> str:
    """Why the call `where` failed, for a guest holding `memory_pages` of linear memory."""
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
    memory_note = f"guest memory {memory_pages} pages"
    ceiling = memory_ceiling_bytes(limits) // WASM_PAGE_BYTES
    if memory_pages * 4 >= ceiling * 3:
        memory_note += (
            f": near the validator's ceiling of {ceiling} pages (validator setting "
            "child_data_bytes), where memory.grow returns -1 and allocators abort"
        )
    if isinstance(error, wasmtime.Trap | wasmtime.WasmtimeError):
        detail = trap_detail(error)
        # ENOMEM from mmap/mprotect (the child's rlimits), or the store's ceiling, which is
        # the child's data limit too.
        if "os error 12" in detail or "exceeds memory limits" in detail:
            gib = limits.child_data_bytes / 1024**3
            memory_note += (
                f"; the validator child may use {gib:.1f} GiB of memory "
                "(validator setting child_data_bytes)"
            )
        return f"{where} trapped: {detail} ({memory_note})"
    return f"{where} failed: {type(error).__name__}: {error} ({memory_note})"
