"""Limits of one validation: what a plugin may cost and what the validator child may use.

The dry-run limits (fuel, memory pages, per-call time) are the ones a WasmPlugin's `spec.limits`
overrides; the child-process limits keep a pathological module from hurting the operator. All of
them are part of the cache key, so changing a limit re-validates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

WASM_PAGE_BYTES = 65536

DEFAULT_MAX_MODULE_BYTES = 16 * 1024 * 1024
# The dry-run defaults equal those of WasmPlugin.spec.limits, so `wasmgate validate` in a
# plugin's CI and the operator agree on a verdict.
DEFAULT_MEMORY_PAGES = 1024
DEFAULT_CALL_FUEL = 100_000_000
DEFAULT_CALL_TIME_MS = 100
DEFAULT_START_FUEL = 100_000_000
DEFAULT_START_TIME_MS = 1_000
DEFAULT_NODES = 4
DEFAULT_CHILD_ADDRESS_SPACE_BYTES = 16 * 1024 * 1024 * 1024
DEFAULT_CHILD_DATA_BYTES = 2 * 1024 * 1024 * 1024
DEFAULT_CHILD_CPU_SECONDS = 60
DEFAULT_CHILD_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class ValidationLimits:
    """Caps for one validation; every field has a named default above."""

    max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES
    """Largest module accepted, in bytes (default 16 MiB)."""

    memory_pages: int = DEFAULT_MEMORY_PAGES
    """Linear memory the guest may grow to, in 64 KiB wasm pages (default 1024 = 64 MiB)."""

    call_fuel: int = DEFAULT_CALL_FUEL
    """Fuel (roughly wasm instructions) one extension-point call may burn (default 100 million)."""

    call_time_ms: int = DEFAULT_CALL_TIME_MS
    """Wall-clock budget of one extension-point call, in milliseconds (default 100)."""

    start_fuel: int = DEFAULT_START_FUEL
    """Fuel for instantiation plus `_start` (guest runtime init) (default 100 million)."""

    start_time_ms: int = DEFAULT_START_TIME_MS
    """Wall-clock budget of instantiation plus `_start`, in milliseconds (default 1000)."""

    nodes: int = DEFAULT_NODES
    """Nodes in the synthetic cluster snapshot of the dry run (default 4)."""

    child_address_space_bytes: int = DEFAULT_CHILD_ADDRESS_SPACE_BYTES
    """RLIMIT_AS of the validator child, in bytes (default 16 GiB; 4 GiB per memory is reserved)."""

    child_data_bytes: int = DEFAULT_CHILD_DATA_BYTES
    """RLIMIT_DATA of the validator child: its writable memory, in bytes (default 2 GiB)."""

    child_cpu_seconds: int = DEFAULT_CHILD_CPU_SECONDS
    """RLIMIT_CPU of the validator child process, in CPU seconds (default 60)."""

    child_timeout_seconds: int = DEFAULT_CHILD_TIMEOUT_SECONDS
    """Wall-clock limit of the whole validator child, in seconds (default 120)."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ValidationLimits.{field.name} must be a positive integer")
        if self.memory_pages > 65536:
            raise ValueError("ValidationLimits.memory_pages cannot exceed 65536 (4 GiB)")

    @classmethod
    def for_plugin(
        cls,
        *,
        fuel: int,
        memory_pages: int,
        call_timeout_ms: int,
        start_timeout_ms: int,
        max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES,
    ) -> ValidationLimits:
        """Limits from a WasmPlugin's `spec.limits` (one fuel budget serves calls and _start)."""
        return cls(
            max_module_bytes=max_module_bytes,
            memory_pages=memory_pages,
            call_fuel=fuel,
            call_time_ms=call_timeout_ms,
            start_fuel=fuel,
            start_time_ms=start_timeout_ms,
        )

    @property
    def memory_bytes(self) -> int:
        return self.memory_pages * WASM_PAGE_BYTES

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ValidationLimits:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown ValidationLimits fields: {', '.join(unknown)}")
        return cls(**values)
