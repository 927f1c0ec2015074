"""Read a validated module's imports and exports (with function types) straight from the binary.

wasmtime-py can list them too, but its C API aborts the whole process when a function type
contains `v128` ("support for v128 is not implemented"), so a SIMD helper export would crash the
validator instead of getting a verdict. Parsing the type, import, function and export sections
ourselves is a few dozen lines and never touches that path. Callers run this only on bytes
wasmtime has already validated; malformed input still raises ValueError, never worse.
"""

from __future__ import annotations

from dataclasses import dataclass

from wasmgate.validate.abi import Signature

SECTION_TYPE = 1
SECTION_IMPORT = 2
SECTION_FUNCTION = 3
SECTION_EXPORT = 7

VALUE_TYPES = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}
KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str
    signature: Signature | None


@dataclass(frozen=True)
class Export:
    name: str
    kind: str
    signature: Signature | None


@dataclass(frozen=True)
class ModuleInterface:
    imports: tuple[Import, ...]
    exports: tuple[Export, ...]


class _Reader:
    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def done(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise ValueError("unexpected end of section")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u32(self) -> int:
        result = 0
        for shift in range(0, 35, 7):
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
        raise ValueError("varint too long")

    def name(self) -> str:
        length = self.u32()
        if self.pos + length > self.end:
            raise ValueError("name runs past the section")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8")

    def value_type(self) -> str:
        code = self.byte()
        if code not in VALUE_TYPES:
            raise ValueError(f"unsupported value type 0x{code:02x}")
        return VALUE_TYPES[code]

    def limits(self) -> None:
        flags = self.byte()
        self.u32()
        if flags & 1:
            self.u32()


def _types(r: _Reader) -> list[Signature]:
    out = []
    for _ in range(r.u32()):
        if r.byte() != 0x60:
            raise ValueError("only function types are supported")
        params = tuple(r.value_type() for _ in range(r.u32()))
        results = tuple(r.value_type() for _ in range(r.u32()))
        out.append(Signature(params, results))
    return out


def _type_at(types: list[Signature], index: int) -> Signature:
    if index >= len(types):
        raise ValueError(f"type index {index} out of range")
    return types[index]


def parse_interface(data: bytes) -> ModuleInterface:
    """Imports and exports of a core module, function types resolved."""
    r = _Reader(data, 8)
    types: list[Signature] = []
    imports: list[Import] = []
    func_types: list[Signature] = []  # the function index space: imports first
    raw_exports: list[tuple[str, int, int]] = []
    while not r.done():
        section_id = r.byte()
        size = r.u32()
        body = _Reader(data, r.pos, r.pos + size)
        if body.end > len(data):
            raise ValueError("section runs past the end of the module")
        r.pos = body.end
        if section_id == SECTION_TYPE:
            types = _types(body)
        elif section_id == SECTION_IMPORT:
            for _ in range(body.u32()):
                module, name, kind = body.name(), body.name(), body.byte()
                signature = None
                if kind == 0:
                    signature = _type_at(types, body.u32())
                    func_types.append(signature)
                elif kind == 1:
                    body.byte()
                    body.limits()
                elif kind == 2:
                    body.limits()
                elif kind == 3:
                    body.value_type()
                    body.byte()
                elif kind == 4:
                    body.byte()
                    body.u32()
                else:
                    raise ValueError(f"unknown import kind {kind}")
                imports.append(Import(module, name, KINDS[kind], signature))
        elif section_id == SECTION_FUNCTION:
            func_types.extend(_type_at(types, body.u32()) for _ in range(body.u32()))
        elif section_id == SECTION_EXPORT:
            for _ in range(body.u32()):
                name, kind, index = body.name(), body.byte(), body.u32()
                raw_exports.append((name, kind, index))
    exports = []
    for name, kind, index in raw_exports:
        if kind not in KINDS:
            raise ValueError(f"unknown export kind {kind}")
        signature = None
        if kind == 0:
            if index >= len(func_types):
                raise ValueError(f"export {name} names function {index}, which does not exist")
            signature = func_types[index]
        exports.append(Export(name, KINDS[kind], signature))
    return ModuleInterface(tuple(imports), tuple(exports))
