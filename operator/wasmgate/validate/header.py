"""Cheap checks on raw bytes before any compiler sees them: size cap, magic, core vs component.

These run in the calling process (they only look at a few bytes), so a file that is not a core
module is refused without starting the validator child.
"""

from __future__ import annotations

from wasmgate.errors import WasmInvalid

WASM_MAGIC = b"\0asm"
HEADER_BYTES = 8
CORE_MODULE_VERSION = 1
CORE_MODULE_LAYER = 0
COMPONENT_LAYER = 1


def human_bytes(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    if count >= 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count} bytes"


def check_header(data: bytes, max_module_bytes: int) -> None:
    """Raise WasmInvalid unless `data` starts like a core wasm module and is within the cap."""
    if len(data) > max_module_bytes:
        raise WasmInvalid(
            f"module is {len(data)} bytes ({human_bytes(len(data))}), over the cap of "
            f"{max_module_bytes} bytes (spec.source.maxSize); strip debug sections "
            "(e.g. `wasm-opt --strip-debug`) or raise the cap"
        )
    if len(data) < HEADER_BYTES or not data.startswith(WASM_MAGIC):
        raise WasmInvalid(
            "not a WebAssembly binary: it does not start with the magic bytes \\0asm; "
            "pass the compiled .wasm file, not source or an archive"
        )
    # The 4 bytes after the magic are a little-endian u16 version and u16 layer; the component
    # model uses layer 1, core modules layer 0 with version 1.
    version = int.from_bytes(data[4:6], "little")
    layer = int.from_bytes(data[6:8], "little")
    if layer == COMPONENT_LAYER:
        raise WasmInvalid(
            f"this is a WebAssembly component (layer {layer}, version {version:#x}), not a core "
            "module; the scheduler (wazero) loads core modules only: build for wasip1 "
            "(e.g. TinyGo `-target=wasip1`, Rust `wasm32-wasip1`) without a component step"
        )
    if layer != CORE_MODULE_LAYER or version != CORE_MODULE_VERSION:
        raise WasmInvalid(
            f"unsupported WebAssembly binary version {version} (layer {layer}); "
            f"the scheduler loads core modules of version {CORE_MODULE_VERSION}"
        )
