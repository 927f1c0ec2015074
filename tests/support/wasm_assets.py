"""The wasm test plugins and the verdict each must get, shared by validate and e2e tests.

The plugins are built from tests/assets/wasm (WAT and C) by that directory's build_assets.py,
which is a script, not a package, so it is loaded from its path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import wasmtime

ASSETS_BUILDER = Path(__file__).resolve().parents[1] / "assets" / "wasm" / "build_assets.py"

# Every test plugin: asset, verdict, reason, fragments its message must contain.
ASSET_VERDICTS: list[tuple[str, str, str | None, list[str]]] = [
    ("filter_node_name_suffix", "pass", None, []),
    ("filter_node_name_suffix_inverted", "pass", None, []),
    ("score_node_label", "pass", None, []),
    ("prefilter_node_names", "pass", None, []),
    ("tinygo_style_wasi_start", "pass", None, []),
    (
        "filter_trap_unreachable",
        "fail",
        "DryRunTrapped",
        ["filter (node node-0) trapped", "unreachable"],
    ),
    ("score_endless_loop", "fail", "DryRunTrapped", ["score (node node-0)", "spec.limits."]),
    ("memory_grow_past_limit", "fail", "DryRunTrapped", ["filter", "child_data_bytes"]),
    ("start_trap", "fail", "DryRunTrapped", ["_start trapped", "unreachable"]),
    ("start_proc_exit", "fail", "DryRunTrapped", ["_start called proc_exit(0)", "wazero"]),
    ("imports_unknown_module", "fail", "AbiMismatch", ["import env.abort", "no module 'env'"]),
    (
        "imports_scheduler_unknown_function",
        "fail",
        "AbiMismatch",
        ["import k8s.io/scheduler.get_secret", "no function 'get_secret'"],
    ),
    (
        "imports_scheduler_wrong_signature",
        "fail",
        "AbiMismatch",
        ["k8s.io/scheduler.get_config is declared (i32) -> (i32)", "provides (i32, i32) -> (i32)"],
    ),
    (
        "exports_filter_wrong_signature",
        "fail",
        "AbiMismatch",
        ["export filter has signature (i32) -> (i32)", "requires () -> (i32)"],
    ),
    ("exports_no_memory", "fail", "AbiMismatch", ['no export named "memory"']),
    ("exports_no_plugin_function", "fail", "AbiMismatch", ["exports no plugin function"]),
    ("filter_status_code_unknown", "fail", "AbiMismatch", ["returned status code 42"]),
    ("score_out_of_range", "fail", "AbiMismatch", ["returned score 150", "0..100"]),
    ("component_minimal", "fail", "WasmInvalid", ["WebAssembly component", "core modules only"]),
    ("not_wasm", "fail", "WasmInvalid", ["not a WebAssembly binary", "magic bytes"]),
]


def load_builder() -> ModuleType:
    """tests/assets/wasm/build_assets.py as a module."""
    spec = importlib.util.spec_from_file_location("wasm_assets_builder", ASSETS_BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_wasm_assets(out_dir: Path) -> dict[str, Path]:
    """{asset name: built file}; fails the test (never skips) when clang/lld are missing."""
    builder = load_builder()
    try:
        assets: dict[str, Path] = builder.build_all(out_dir)
    except builder.AssetBuildError as e:
        pytest.fail(str(e))
    return assets


def padded_module(total_bytes: int) -> bytes:
    """A valid filter module padded with a custom section to exactly `total_bytes`: the
    "module over the size cap" case, generated so no multi-megabyte file is committed."""
    base = bytes(
        wasmtime.wat2wasm(
            '(module (memory (export "memory") 1) (func (export "filter") (result i32) '
            "i32.const 0))"
        )
    )
    name = b"\x07padding"
    # custom section: id 0, u32 size (5-byte padded LEB128), name, payload
    payload_len = total_bytes - len(base) - 1 - 5 - len(name)
    assert payload_len >= 0
    size = len(name) + payload_len
    leb = bytes(
        [(size >> s) & 0x7F | (0x80 if i < 4 else 0) for i, s in enumerate(range(0, 35, 7))]
    )
    module = base + b"\x00" + leb + name + b"\x00" * payload_len
    assert len(module) == total_bytes
    return module


def with_custom_section(module: bytes, label: str) -> bytes:
    """The same module with one more custom section: same behaviour, a new digest."""
    name = b"wasmgate-e2e"
    payload = bytes([len(name)]) + name + label.encode()
    assert len(payload) < 128  # one-byte LEB128 size
    return module + b"\x00" + bytes([len(payload)]) + payload
