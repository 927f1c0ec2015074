"""The Kubernetes protobuf encodings the guests receive, read back with an independent decoder."""

from __future__ import annotations

import pytest

from wasmgate.validate import protobuf as pb
from wasmgate.validate.kube_protobuf import encode_node, encode_node_list, encode_pod
from wasmgate.validate.snapshot import build_snapshot

Fields = dict[int, list[object]]


def decode(data: bytes) -> Fields:
    """Wire format -> {field: [values]}; varints as int, length-delimited as bytes."""
    fields: Fields = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields.setdefault(number, []).append(varint())
        elif wire == 2:
            length = varint()
            fields.setdefault(number, []).append(data[pos : pos + length])
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return fields


def message(fields: Fields, number: int) -> Fields:
    (raw,) = fields[number]
    assert isinstance(raw, bytes)
    return decode(raw)


def string_map(fields: Fields, number: int) -> dict[str, bytes]:
    out = {}
    for entry in fields.get(number, []):
        assert isinstance(entry, bytes)
        decoded = decode(entry)
        (key,) = decoded[1]
        (value,) = decoded[2]
        assert isinstance(key, bytes) and isinstance(value, bytes)
        out[key.decode()] = value
    return out


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (2**32, b"\x80\x80\x80\x80\x10"),
        (-1, b"\xff" * 9 + b"\x01"),
    ],
    ids=["zero", "one", "max-1-byte", "min-2-bytes", "300", "2^32", "minus-one"],
)
def test_varint(value: int, encoded: bytes) -> None:
    assert pb.varint(value) == encoded


def test_string_field_and_map_entries_are_sorted() -> None:
    assert pb.string(1, "ab") == b"\x0a\x02ab"
    assert pb.string_map(11, {"b": "2", "a": "1"}) == (
        b"\x5a\x06\x0a\x01a\x12\x011" + b"\x5a\x06\x0a\x01b\x12\x012"
    )


def test_node_fields_sit_at_the_generated_proto_numbers() -> None:
    node = build_snapshot(3).nodes[2]

    fields = decode(encode_node(node))

    meta = message(fields, 1)
    assert meta[1] == [b"node-2"]
    labels = string_map(meta, 11)
    assert labels["wasmgate.dev/score"] == b"84"
    assert labels["topology.kubernetes.io/zone"] == b"zone-c"
    status = message(fields, 3)
    capacity = {k: decode(v)[1] for k, v in string_map(status, 1).items()}
    allocatable = {k: decode(v)[1] for k, v in string_map(status, 2).items()}
    assert capacity["cpu"] == [b"4"]
    assert allocatable["memory"] == [b"15Gi"]
    (condition,) = status[4]
    assert isinstance(condition, bytes)
    assert decode(condition) == {1: [b"Ready"], 2: [b"True"]}
    (image,) = status[8]
    assert isinstance(image, bytes)
    assert decode(image) == {1: [b"registry.k8s.io/pause:3.10"], 2: [320_368]}


def test_node_list_items_are_field_2() -> None:
    nodes = build_snapshot(3).nodes

    fields = decode(encode_node_list(nodes))

    names = []
    for item in fields[2]:
        assert isinstance(item, bytes)
        names.append(message(decode(item), 1)[1])
    assert names == [[b"node-0"], [b"node-1"], [b"node-2"]]


def test_pod_fields_sit_at_the_generated_proto_numbers() -> None:
    snapshot = build_snapshot(2)

    pending = decode(encode_pod(snapshot.pod))
    running = decode(encode_pod(snapshot.running_pod))

    meta = message(pending, 1)
    assert (meta[1], meta[3], meta[5]) == (
        [b"wasmgate-dry-run-1"],
        [b"default"],
        [b"00000000-0000-4000-8000-000000000001"],
    )
    spec = message(pending, 2)
    assert spec[19] == [b"wasmgate-scheduler"]
    assert 10 not in spec
    (container,) = spec[2]
    assert isinstance(container, bytes)
    container_fields = decode(container)
    assert container_fields[1] == [b"app"]
    resources = message(container_fields, 8)
    assert {k: decode(v)[1] for k, v in string_map(resources, 2).items()} == {
        "cpu": [b"100m"],
        "memory": [b"128Mi"],
    }
    assert message(pending, 3) == {1: [b"Pending"]}
    assert message(running, 2)[10] == [b"node-0"]
    assert message(running, 3) == {1: [b"Running"]}
