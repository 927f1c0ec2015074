"""Objects the API tests share: the committed examples, full objects with status, the schemas."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from wasmgate.api.crd import build_crd

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "docs" / "examples").glob("*.yaml"))
OBJECTS = sorted((REPO / "tests" / "assets" / "api_objects").glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    """One YAML document as a dict."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


@functools.cache
def _built_schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = build_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def openapi_schema(kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of a kind's generated CRD (a fresh copy: tests may change it)."""
    return copy.deepcopy(_built_schema(kind))


def nodes(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, node) for every schema node."""
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")
