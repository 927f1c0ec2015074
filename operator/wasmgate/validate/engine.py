"""The wasmtime engine configuration shared by the static check and the dry run.

Two concerns meet here. Features: the scheduler runs guests on wazero, which implements
WebAssembly 2.0 core (bulk memory, multi-value, reference types, SIMD, sign extension,
non-trapping float conversion) and nothing newer by default, so proposals wasmtime would accept
but wazero refuses are switched off. Resources: fuel and epoch interruption bound each call.
Code quality: none. The dry run calls each export a handful of times and the scheduler compiles
the module again with its own runtime, so optimizing it here buys nothing; Cranelift without
optimizations compiles this instrumented code faster than a default, uninstrumented compile.
"""

from __future__ import annotations

import wasmtime

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


def make_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    for name in _DISABLED_PROPOSALS:
        setattr(config, name, False)
    for name in _ENABLED_PROPOSALS:
        setattr(config, name, True)
    config.consume_fuel = True
    config.epoch_interruption = True
    # Fuel counts WebAssembly instructions, not machine code, so verdicts on fuel do not depend
    # on this; unoptimized code is slower, so a time limit is, if anything, judged more strictly.
    config.cranelift_opt_level = "none"
    # Memory reservation and guard sizes stay at wasmtime's defaults (4 GiB of address space per
    # linear memory): bounds checks are then elided, which halves compile time of big modules
    # compared to small reservations. The guest's memory is capped by store limits instead, and
    # the child's writable memory by RLIMIT_DATA, which does not count the reservation.
    return wasmtime.Engine(config)
