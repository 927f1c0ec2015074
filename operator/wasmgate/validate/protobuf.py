"""Just enough of the protobuf wire format to encode Kubernetes objects for a guest.

The scheduler hands guests `v1.Node`/`v1.Pod` in their protobuf encoding; the dry run must do the
same, and pulling in a protobuf runtime plus generated Kubernetes types for a handful of fields
would be far heavier than these few functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

WIRE_VARINT = 0
WIRE_LEN = 2


def varint(value: int) -> bytes:
    """Base-128 varint; negative values take the 10-byte two's-complement form, as in proto."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def length_delimited(field: int, payload: bytes) -> bytes:
    return tag(field, WIRE_LEN) + varint(len(payload)) + payload


def string(field: int, value: str) -> bytes:
    return length_delimited(field, value.encode("utf-8"))


def uint(field: int, value: int) -> bytes:
    return tag(field, WIRE_VARINT) + varint(value)


def boolean(field: int, value: bool) -> bytes:
    return uint(field, 1 if value else 0)


def messages(field: int, payloads: Iterable[bytes]) -> bytes:
    """A repeated embedded-message field."""
    return b"".join(length_delimited(field, p) for p in payloads)


def strings(field: int, values: Iterable[str]) -> bytes:
    """A repeated string field."""
    return b"".join(string(field, v) for v in values)


def map_field(field: int, entries: Mapping[str, bytes]) -> bytes:
    """A map<string, V> field; `entries` values are the already-encoded V (field 2 payload).

    Keys are sorted, as Kubernetes' generated marshallers do, so encodings are deterministic.
    """
    return messages(
        field,
        (string(1, key) + length_delimited(2, entries[key]) for key in sorted(entries)),
    )


def string_map(field: int, entries: Mapping[str, str]) -> bytes:
    """A map<string, string> field."""
    return map_field(field, {k: v.encode("utf-8") for k, v in entries.items()})
