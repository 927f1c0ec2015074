"""Turn a pydantic JSON schema into a Kubernetes structural schema.

The apiserver accepts only "structural" OpenAPI v3 schemas: no `$ref`, every node typed, no
`anyOf` for optional values (absent fields are simply not required, and nulls are pruned),
`additionalProperties` never beside `properties`, free-form objects marked
`x-kubernetes-preserve-unknown-fields`. Pydantic produces none of that, so this module inlines,
flattens and checks. Any keyword it does not know is an error: a constraint silently dropped here
would be a constraint the apiserver never enforces.

Defaults come from the models. A nested model that is fully defaulted gets `default: {}`: the
apiserver then fills its fields from their own defaults, which is what the model does in Python.
Every scalar default is also appended to the field's description, because `kubectl explain`
does not print defaults.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema


class SchemaError(ValueError):
    """The model uses a construct a structural schema cannot express."""


# Output keywords in the order they are written, so generated files read well and diff cleanly.
_KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "required",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
    "additionalProperties",
    "items",
    "properties",
)
_DROPPED = {"title"}


class _DefaultsFromFactories(GenerateJsonSchema):
    """Pydantic leaves `default_factory` defaults out of JSON schemas; the CRD needs them."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = cast(Callable[[], Any], factory)()
        if isinstance(value, BaseModel):
            return {}
        return value


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural schema of `model`, ready for a CRD's openAPIV3Schema."""
    raw = model.model_json_schema(schema_generator=_DefaultsFromFactories, mode="validation")
    definitions = raw.pop("$defs", {})
    return _structural(raw, definitions, ())


def _overlay(target: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A referenced schema with the referring node's keywords on top; rules accumulate."""
    merged = dict(target)
    for key, value in overlay.items():
        if key == "x-kubernetes-validations":
            merged[key] = [*target.get(key, []), *value]
        else:
            merged[key] = value
    return merged


def _structural(
    node: Mapping[str, Any], definitions: Mapping[str, Any], seen: tuple[str, ...]
) -> dict[str, Any]:
    rest = {key: value for key, value in node.items() if key not in ("$ref", "allOf", "anyOf")}
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise SchemaError(f"{name} refers to itself; structural schemas cannot recurse")
        return _structural(_overlay(definitions[name], rest), definitions, (*seen, name))
    if "allOf" in node:
        if len(node["allOf"]) != 1:
            raise SchemaError(f"allOf with {len(node['allOf'])} members cannot be flattened")
        return _structural(_overlay(node["allOf"][0], rest), definitions, seen)
    if "anyOf" in node:
        members = [member for member in node["anyOf"] if member != {"type": "null"}]
        if len(members) != 1:
            raise SchemaError(f"a union of {len(members)} types is not structural: {node}")
        if rest.get("default", 0) is None:
            del rest["default"]
        return _structural(_overlay(members[0], rest), definitions, seen)
    return _leaf(rest, definitions, seen)


def _leaf(
    node: dict[str, Any], definitions: Mapping[str, Any], seen: tuple[str, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {
                name: _structural(child, definitions, seen) for name, child in value.items()
            }
        elif key == "items":
            out[key] = _structural(value, definitions, seen)
        elif key == "additionalProperties":
            if value is True:
                out["x-kubernetes-preserve-unknown-fields"] = True
            elif isinstance(value, dict):
                out[key] = _structural(value, definitions, seen)
            # `false` is pydantic's extra="forbid"; structural schemas prune unknown fields.
        elif key == "default" and value is None:
            continue
        elif key == "description":
            # Docstrings span lines; kubectl explain wraps text itself.
            out[key] = " ".join(value.split())
        elif key == "x-kubernetes-validations":
            out[key] = [_ordered_rule(rule) for rule in value]
        elif key in _KEY_ORDER:
            # A copy: shared lists would come out as YAML anchors.
            out[key] = copy.deepcopy(value)
        else:
            raise SchemaError(f"keyword {key!r} has no structural equivalent (in {node})")
    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(f"schema node has no type: {node}")
    _describe_default(out)
    return {key: out[key] for key in _KEY_ORDER if key in out}


def _ordered_rule(rule: Mapping[str, str]) -> dict[str, str]:
    order = ("rule", "message", "fieldPath", "reason")
    return {key: rule[key] for key in order if key in rule}


def _describe_default(node: dict[str, Any]) -> None:
    default = node.get("default")
    if default is None or default in ({}, [], "") or "description" not in node:
        return
    node["description"] = f"{node['description']} Default: {json.dumps(default)}."
