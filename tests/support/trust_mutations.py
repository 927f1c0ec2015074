"""Hypothesis strategies that damage real cosign output: bytes and JSON structure."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            paths += _paths(value, (*prefix, index))
    return paths


def _replace(document: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = _replace(copy[head], rest, value, delete)
    return copy


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> Any:
    """The document with one node replaced by arbitrary JSON or deleted."""
    paths = _paths(document)
    path = draw(st.sampled_from(paths))
    delete = bool(path) and draw(st.booleans())
    return _replace(document, path, draw(JSON_VALUES), delete)


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """The bytes with one byte flipped, a cut, or a short insertion."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert"]))
    position = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "flip" and data:
        return (
            data[:position]
            + bytes([data[position] ^ draw(st.integers(1, 255))])
            + data[position + 1 :]
        )
    if kind == "truncate":
        return data[:position]
    return data[:position] + draw(st.binary(min_size=1, max_size=8)) + data[position:]


@st.composite
def mutated_bundle(draw: st.DrawFn, bundle_bytes: bytes) -> bytes:
    """A bundle damaged in its bytes, its JSON, or the in-toto statement inside its envelope."""
    kind = draw(st.sampled_from(["bytes", "json", "statement"]))
    if kind == "bytes":
        return draw(mutated_bytes(bundle_bytes))
    bundle = json.loads(bundle_bytes)
    if kind == "json":
        return json.dumps(draw(mutated_json(bundle))).encode()
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    damaged = json.dumps(draw(mutated_json(statement))).encode()
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(damaged).decode()
    return json.dumps(bundle).encode()


@st.composite
def mutated_payload(draw: st.DrawFn, payload: bytes) -> bytes:
    """A simple-signing payload damaged in its bytes or its JSON."""
    if draw(st.booleans()):
        return draw(mutated_bytes(payload))
    return json.dumps(draw(mutated_json(json.loads(payload)))).encode()
