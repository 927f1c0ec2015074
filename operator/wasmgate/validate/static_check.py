"""The static half of validation: is it a valid module, and does its interface fit the ABI?

Everything the real scheduler checks before calling a guest is checked here, without running
any guest code: compile errors (here: wasmtime validation with wazero's feature set), the
`memory` export, extension-point export signatures (upstream `detectInterfaces`), at least one
plugin export, and imports the scheduler can satisfy (upstream instantiation would fail
otherwise). All problems are reported at once, so an author fixes them in one round.
"""

from __future__ import annotations

import wasmtime

from wasmgate.errors import AbiMismatch, WasmInvalid
from wasmgate.validate import abi
from wasmgate.validate.binary import Export, ModuleInterface, parse_interface


def read_interface(engine: wasmtime.Engine, data: bytes) -> ModuleInterface:
    """Validate `data` as a core module under the engine's features; return its interface."""
    try:
        wasmtime.Module.validate(engine, data)
    except wasmtime.WasmtimeError as e:
        detail = str(e).strip().replace("\n", " ")
        raise WasmInvalid(
            f"the module does not validate: {detail}; rebuild it with a compiler targeting "
            "wasm32 core (WebAssembly 2.0 features only)"
        ) from e
    try:
        return parse_interface(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise WasmInvalid(f"the module's import or export section is unreadable: {e}") from e


def _export_problems(interface: ModuleInterface) -> list[str]:
    problems = []
    kinds = {e.name: e for e in interface.exports}
    memory = kinds.get(abi.MEMORY_EXPORT)
    if memory is None:
        problems.append(
            'no export named "memory": the scheduler reads and writes guest memory through it; '
            'export the linear memory as "memory" (wasm-ld does by default, TinyGo too)'
        )
    elif memory.kind != "memory":
        problems.append(f'export "memory" is a {memory.kind}; it must be the linear memory')
    for point in abi.EXTENSION_POINTS:
        export = kinds.get(point.name)
        if export is None:
            continue
        if export.kind != "func":
            problems.append(f"export {point.name} is a {export.kind}; it must be a function")
        elif export.signature != point.signature:
            problems.append(
                f"export {point.name} has signature {export.signature}; the scheduler requires "
                f"{point.signature}: change the function's parameters and result"
            )
    start = kinds.get(abi.START_EXPORT)
    if start is not None and (start.kind != "func" or start.signature != abi.START_SIGNATURE):
        shown = start.signature if start.kind == "func" else start.kind
        problems.append(
            f"export {abi.START_EXPORT} is {shown}; the scheduler calls it as "
            f"{abi.START_SIGNATURE} at instantiation"
        )
    problems.extend(_combination_problems(kinds))
    return problems


def _combination_problems(kinds: dict[str, Export]) -> list[str]:
    """Upstream detectInterfaces ("no plugin functions") and mask.go (supported combinations)."""
    recognized = [p.name for p in abi.EXTENSION_POINTS if p.counts_as_plugin and p.name in kinds]
    if not recognized:
        names = ", ".join(p.name for p in abi.EXTENSION_POINTS if p.counts_as_plugin)
        return [
            f"the module exports no plugin function; export at least one of: {names} "
            "(addpod/removepod alone do not count, as upstream)"
        ]
    refusal = '"filter, score, reserve, permit or bind must be exported"'
    main = frozenset(abi.MAIN_GROUPS[name] for name in recognized if name in abi.MAIN_GROUPS)
    if not main:
        if recognized == [abi.PREFILTER_ONLY]:
            return []
        return [
            f"the module exports only {', '.join(recognized)}; the scheduler refuses it with "
            f"{refusal}: export one of those, or prefilter and no other extension point"
        ]
    if main not in abi.SUPPORTED_MAIN_COMBINATIONS:
        chosen = "+".join(g for g in ("filter", "score", "reserve", "permit", "bind") if g in main)
        return [
            f"the module exports the combination {chosen}, which upstream's scheduler does not "
            f"support (mask.go refuses it with {refusal}); drop or add one of these points"
        ]
    return []


def _import_problems(interface: ModuleInterface) -> list[str]:
    problems = []
    allowed = ", ".join(abi.ALLOWED_IMPORT_MODULES)
    for imp in interface.imports:
        where = f"import {imp.module}.{imp.name}"
        if imp.module not in abi.ALLOWED_IMPORT_MODULES:
            problems.append(
                f"{where}: the scheduler provides no module {imp.module!r}; guests may import "
                f"only from {allowed} (remove the import or link it into the module)"
            )
            continue
        if imp.kind != "func":
            problems.append(
                f"{where} is a {imp.kind}; the scheduler's host modules export only functions"
            )
            continue
        expected = abi.expected_import(imp.module, imp.name)
        if expected is None:
            problems.append(
                f"{where}: {imp.module} has no function {imp.name!r}; "
                f"check the name against the scheduler's host functions"
            )
        elif imp.signature != expected:
            problems.append(
                f"{where} is declared {imp.signature}; the scheduler provides {expected}: "
                "fix the import declaration"
            )
    return problems


def check_abi(interface: ModuleInterface) -> list[str]:
    """Raise AbiMismatch listing every problem; return the exported extension points."""
    problems = _export_problems(interface) + _import_problems(interface)
    if problems:
        raise AbiMismatch("; ".join(problems))
    exported = {e.name for e in interface.exports}
    return [p.name for p in abi.EXTENSION_POINTS if p.name in exported]


def compile_module(engine: wasmtime.Engine, data: bytes) -> wasmtime.Module:
    try:
        return wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as e:
        raise WasmInvalid(f"wasmtime could not compile the module: {e}") from e
