"""Cheap refusals on raw bytes: size cap, magic, component layer, version."""

from __future__ import annotations

import pytest

from wasmgate.errors import WasmInvalid
from wasmgate.validate.header import check_header

CORE = b"\0asm\x01\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "cap", "fragment"),
    [
        (b"", 100, "does not start with the magic bytes"),
        (b"\0asm", 100, "does not start with the magic bytes"),
        (b"\x7fELF\x02\x01\x01\x00", 100, "does not start with the magic bytes"),
        (b"\0asm\x0d\x00\x01\x00", 100, "WebAssembly component (layer 1, version 0xd)"),
        (b"\0asm\x02\x00\x00\x00", 100, "unsupported WebAssembly binary version 2 (layer 0)"),
        (CORE + b"\0" * 93, 100, "module is 101 bytes (101 bytes), over the cap of 100 bytes"),
    ],
    ids=["empty", "magic-only", "elf", "component", "version-2", "over-cap"],
)
def test_refused(data: bytes, cap: int, fragment: str) -> None:
    with pytest.raises(WasmInvalid) as caught:
        check_header(data, cap)

    assert fragment in caught.value.message
    assert caught.value.reason == "WasmInvalid"


def test_core_module_header_at_the_cap_passes() -> None:
    check_header(CORE + b"\0" * 92, 100)
