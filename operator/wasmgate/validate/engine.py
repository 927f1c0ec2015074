"""The wasmtime engine configuration shared by the static check and the dry run.

Two concerns meet here. Features: the scheduler runs guests on wazero, which implements
WebAssembly 2.0 core (bulk memory, multi-value, reference types, SIMD, sign extension,
non-trapping float conversion) and nothing newer by default, so proposals wasmtime would accept
but wazero refuses are switched off. Resources: fuel and epoch interruption bound each call, and
small memory reservations let the engine live under the child's RLIMIT_AS.
"""

from __future__ import annotations

import wasmtime

from wasmgate.validate.settings import ValidationLimits

GUARD_BYTES = 64 * 1024

_DISABLED_PROPOSALS = (
    "wasm_threads",
    "wasm_tail_call",
    "wasm_memory64",
    "wasm_multi_memory",
    "wasm_relaxed_simd",
    "wasm_function_references",
    "wasm_gc",
    "wasm_exceptions",
    "wasm_custom_page_sizes",
    "wasm_wide_arithmetic",
    "wasm_stack_switching",
    "wasm_component_model",
)
_ENABLED_PROPOSALS = (
    "wasm_bulk_memory",
    "wasm_multi_value",
    "wasm_reference_types",
    "wasm_simd",
)


def make_engine(limits: ValidationLimits) -> wasmtime.Engine:
    config = wasmtime.Config()
    for name in _DISABLED_PROPOSALS:
        setattr(config, name, False)
    for name in _ENABLED_PROPOSALS:
        setattr(config, name, True)
    config.consume_fuel = True
    config.epoch_interruption = True
    # Reserve exactly what the guest may use; with small guards wasmtime emits explicit bounds
    # checks instead of relying on a 4 GiB + 2 GiB virtual reservation per memory.
    config.memory_reservation = limits.memory_bytes
    config.memory_reservation_for_growth = 0
    config.memory_guard_size = GUARD_BYTES
    config.memory_init_cow = False
    return wasmtime.Engine(config)
