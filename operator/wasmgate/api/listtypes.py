"""List semantics for server-side apply, declared once for the CRD and enforced in Python.

Kubernetes merges lists by their `x-kubernetes-list-type`: `set` lists hold unique scalars and
`map` lists hold objects identified by key fields (conditions by `type`, for example). The
apiserver refuses duplicates in both; these annotations make the models refuse them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from wasmgate.api.annotation import SchemaAnnotation


def _key_of(item: Any, keys: Sequence[str]) -> tuple[Any, ...]:
    if isinstance(item, BaseModel):
        item = item.model_dump(mode="json")
    return tuple(item.get(key) for key in keys)


@dataclass(frozen=True)
class SetList(SchemaAnnotation):
    """A list of unique scalars (`x-kubernetes-list-type: set`)."""

    def validate(self, items: list[Any]) -> list[Any]:
        seen: set[Any] = set()
        for item in items:
            if item in seen:
                raise ValueError(f"duplicate entry {item!r}; list each value once")
            seen.add(item)
        return items

    def extend_schema(self, json_schema: dict[str, Any]) -> None:
        json_schema["x-kubernetes-list-type"] = "set"


@dataclass(frozen=True)
class MapList(SchemaAnnotation):
    """A list of objects keyed by `keys` (`x-kubernetes-list-type: map`)."""

    keys: tuple[str, ...]

    def validate(self, items: list[Any]) -> list[Any]:
        seen: set[tuple[Any, ...]] = set()
        for item in items:
            key = _key_of(item, self.keys)
            if key in seen:
                named = ", ".join(f"{k}={v!r}" for k, v in zip(self.keys, key, strict=True))
                raise ValueError(f"duplicate entry with {named}; keys must be unique")
            seen.add(key)
        return items

    def extend_schema(self, json_schema: dict[str, Any]) -> None:
        json_schema["x-kubernetes-list-type"] = "map"
        json_schema["x-kubernetes-list-map-keys"] = list(self.keys)
