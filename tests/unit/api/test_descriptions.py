"""`kubectl explain` is useful, and nothing that comes from outside is unbounded.

Every field of every model, and so every property of every CRD, carries a description; scalar
defaults are stated in it. Every string, list and map has a size limit, and every integer in a
spec has a range: a spec is written by people and a status by programs, and neither should be
able to store an arbitrarily large object.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from support.api_samples import nodes, openapi_schema
from wasmgate.api.base import ObjectMeta
from wasmgate.api.kinds import KINDS

KIND_IDS = list(KINDS)


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def all_models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for info in KINDS.values():
        for model in _models(info.model):
            found.setdefault(model.__qualname__, model)
    return list(found.values())


def test_the_walk_finds_the_nested_models() -> None:
    names = {model.__name__ for model in all_models()}
    assert {"KeylessIdentity", "PublicKeySecretRef", "Toleration", "CacheEntry"} <= names
    assert {"ExtensionPointCost", "SchedulerRevision", "Violation", "Condition"} <= names


@pytest.mark.parametrize("model", all_models(), ids=lambda model: model.__name__)
def test_every_model_field_has_a_description(model: type[BaseModel]) -> None:
    missing = [name for name, field in model.model_fields.items() if not field.description]
    assert missing == []
    if model is not ObjectMeta:
        assert model.__doc__ and len(model.__doc__) > 15


@pytest.mark.parametrize("kind", KIND_IDS)
def test_every_crd_property_has_a_description(kind: str) -> None:
    schema = openapi_schema(kind)
    missing = [
        f"{path}.{name}"
        for path, node in nodes(schema)
        for name, child in node.get("properties", {}).items()
        if path or name != "metadata"  # metadata is the apiserver's own
        if len(child.get("description", "")) < 10
    ]
    assert missing == []


@pytest.mark.parametrize("kind", KIND_IDS)
def test_scalar_defaults_are_stated_in_descriptions(kind: str) -> None:
    for path, node in nodes(openapi_schema(kind)):
        default = node.get("default")
        if default in (None, {}, [], ""):
            continue
        assert f"Default: {json.dumps(default)}." in node["description"], path


@pytest.mark.parametrize("kind", KIND_IDS)
def test_strings_lists_and_maps_are_bounded(kind: str) -> None:
    unbounded = []
    for path, node in nodes(openapi_schema(kind)):
        if not path.startswith((".spec", ".status")):
            continue
        kind_of = node.get("type")
        if kind_of == "string" and not ("maxLength" in node or "enum" in node or "format" in node):
            unbounded.append(path)
        if kind_of == "array" and "maxItems" not in node:
            unbounded.append(path)
        if "additionalProperties" in node and "maxProperties" not in node:
            unbounded.append(path)
    assert unbounded == []


@pytest.mark.parametrize("kind", KIND_IDS)
def test_spec_integers_have_a_range(kind: str) -> None:
    open_ended = [
        path
        for path, node in nodes(openapi_schema(kind))
        if path.startswith(".spec")
        if node.get("type") == "integer"
        if "minimum" not in node or "maximum" not in node
    ]
    assert open_ended == []


def test_units_are_named_where_sizes_and_times_are_set() -> None:
    spec = openapi_schema("WasmPlugin")["properties"]["spec"]["properties"]
    assert "in bytes" in spec["source"]["properties"]["maxSize"]["description"]
    limits = spec["limits"]["properties"]
    assert "64 KiB wasm pages" in limits["memoryPages"]["description"]
    assert "in milliseconds" in limits["callTimeoutMs"]["description"]
    assert "Default: 100." in limits["callTimeoutMs"]["description"]
