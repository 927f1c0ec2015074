"""Small builders shared by the validate tests (imported as a plain module)."""

from __future__ import annotations

import wasmtime


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


def padded_module(total_bytes: int) -> bytes:
    """A valid filter module padded with a custom section to exactly `total_bytes`."""
    base = wat(
        '(module (memory (export "memory") 1) (func (export "filter") (result i32) i32.const 0))'
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
