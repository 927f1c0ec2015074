"""Imports and exports read straight from the binary, including what crashes wasmtime-py."""

from __future__ import annotations

import pytest

from support.validate_helpers import wat
from wasmgate.validate.abi import Signature
from wasmgate.validate.binary import Export, Import, parse_interface


def test_functions_memories_tables_globals_and_v128() -> None:
    module = wat(
        """
(module
  (type $t (func (param i32 i64) (result f64)))
  (import "k8s.io/api" "nodeList" (func (param i32 i32) (result i32)))
  (import "env" "mem" (memory 1 2))
  (import "env" "table" (table 1 funcref))
  (import "env" "g" (global (mut i32)))
  (func $simd (export "simd") (param v128) (result v128) (local.get 0))
  (func (export "typed") (type $t) (f64.const 0))
  (global (export "answer") i32 (i32.const 42))
  (export "memory" (memory 0)))
"""
    )

    interface = parse_interface(module)

    assert interface.imports == (
        Import("k8s.io/api", "nodeList", "func", Signature(("i32", "i32"), ("i32",))),
        Import("env", "mem", "memory", None),
        Import("env", "table", "table", None),
        Import("env", "g", "global", None),
    )
    assert interface.exports == (
        Export("simd", "func", Signature(("v128",), ("v128",))),
        Export("typed", "func", Signature(("i32", "i64"), ("f64",))),
        Export("answer", "global", None),
        Export("memory", "memory", None),
    )


@pytest.mark.parametrize(
    "data",
    [
        # an export naming function 9, which does not exist
        b"\0asm\x01\x00\x00\x00\x07\x05\x01\x01x\x00\x09",
        b"\0asm\x01\x00\x00\x00\x02\x10",  # section longer than the module
        b"\0asm\x01\x00\x00\x00\x01\x04\x01\x5f\x00\x00",  # a non-function type
    ],
    ids=["dangling-export", "truncated-section", "struct-type"],
)
def test_malformed_sections_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_interface(data)
