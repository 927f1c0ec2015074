"""Small builders shared by the validate tests (imported as a plain module)."""

from __future__ import annotations

import wasmtime


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))
