"""The ABI tables agree with the runtimes they describe and with the host implementation."""

from __future__ import annotations

import pytest
import wasmtime

from support.validate_helpers import wat
from wasmgate.validate import abi
from wasmgate.validate.host import GuestOutput, HostEnvironment
from wasmgate.validate.snapshot import build_snapshot


def _import_module(module: str, functions: dict[str, abi.Signature]) -> bytes:
    imports = " ".join(
        f'(import "{module}" "{name}" '
        f"(func (param {' '.join(sig.params)}) (result {' '.join(sig.results)})))"
        for name, sig in functions.items()
    )
    return wat(f"(module {imports})")


def test_every_wasi_function_matches_wasmtime_wasi_preview1() -> None:
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    module = wasmtime.Module(engine, _import_module(abi.WASI_P1, abi.WASI_FUNCTIONS))

    linker.instantiate_pre(module)  # raises on any name or type wasmtime does not provide
    assert len(abi.WASI_FUNCTIONS) == 46


def test_a_wrong_wasi_signature_is_refused_by_wasmtime_too() -> None:
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    wrong = {"fd_write": abi.Signature(("i32",) * 3, ("i32",))}

    with pytest.raises(wasmtime.WasmtimeError, match="fd_write"):
        linker.instantiate_pre(wasmtime.Module(engine, _import_module(abi.WASI_P1, wrong)))


@pytest.mark.parametrize("module", sorted(abi.HOST_FUNCTIONS), ids=sorted(abi.HOST_FUNCTIONS))
def test_host_environment_defines_every_host_function_with_its_table_type(module: str) -> None:
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    HostEnvironment(build_snapshot(1), "", 0, GuestOutput()).define(linker)

    guest = wasmtime.Module(engine, _import_module(module, abi.HOST_FUNCTIONS[module]))

    linker.instantiate_pre(guest)


def test_bindings_cover_exactly_the_table() -> None:
    host = HostEnvironment(build_snapshot(1), "", 0, GuestOutput())

    table = {(m, n) for m, functions in abi.HOST_FUNCTIONS.items() for n in functions}

    assert set(host.bindings()) == table


@pytest.mark.parametrize(
    ("point", "signature"),
    [
        ("enqueue", "() -> ()"),
        ("prefilter", "() -> (i32)"),
        ("filter", "() -> (i32)"),
        ("postfilter", "() -> (i64)"),
        ("prescore", "() -> (i32)"),
        ("score", "() -> (i64)"),
        ("normalizescore", "() -> (i32)"),
        ("reserve", "() -> (i32)"),
        ("unreserve", "() -> ()"),
        ("permit", "() -> (i64)"),
        ("prebind", "() -> (i32)"),
        ("bind", "() -> (i32)"),
        ("postbind", "() -> ()"),
        ("addpod", "() -> (i32)"),
        ("removepod", "() -> (i32)"),
    ],
    ids=lambda value: str(value),
)
def test_extension_point_signatures_follow_upstream_detect_interfaces(
    point: str, signature: str
) -> None:
    assert str(abi.EXTENSION_POINTS_BY_NAME[point].signature) == signature


def test_unknown_import_lookups() -> None:
    assert abi.expected_import("k8s.io/scheduler", "handle.get_secret") is None
    assert abi.expected_import("k8s.io/scheduler", "handle.get_waiting_pod") == abi.Signature(
        ("i32",) * 4, ()
    )
    assert abi.expected_import("env", "abort") is None
    assert abi.expected_import(abi.WASI_P1, "proc_exit") == abi.Signature(("i32",), ())
