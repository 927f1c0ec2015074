"""The apiserver's handling of a CRD schema, redone for tests: defaulting, OpenAPI, CEL rules.

Defaulting follows the apiserver's structural defaulting (a missing property with a default gets
it, then its own properties are defaulted). The OpenAPI check covers the keywords our schemas use,
with the apiserver's wording. Rules run in cel-python, a real CEL interpreter that uses RE2 like
the apiserver. Not modelled: CEL cost limits and Kubernetes' CEL extension libraries (the rules
use none); the kit's end-to-end tests apply the CRDs to a real apiserver.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

import celpy
from celpy.adapter import json_to_cel

_ENV = celpy.Environment()


@functools.cache
def _program(rule: str) -> celpy.Runner:
    return _ENV.program(_ENV.compile(rule))


def compile_rule(rule: str) -> None:
    """Raise if the rule does not parse."""
    _program(rule)


def holds(rule: str, value: Any) -> bool:
    """Evaluate one rule with `self` bound to the JSON value (raises if evaluation errors)."""
    return bool(_program(rule).evaluate({"self": json_to_cel(value)}))


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """A copy of the value with the schema's defaults filled in, as the apiserver does."""
    value = copy.deepcopy(value)
    _default(schema, value)
    return value


def _default(schema: Mapping[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        for name, child in schema.get("properties", {}).items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                _default(child, value[name])
        if isinstance(schema.get("additionalProperties"), dict):
            for item in value.values():
                _default(schema["additionalProperties"], item)
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            _default(schema["items"], item)


def rules_with_values(
    schema: Mapping[str, Any], value: Any, path: str = ""
) -> Iterator[tuple[str, dict[str, str], Any]]:
    """(path, rule, value) for every rule that applies somewhere in the value."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield path, rule, value
    if isinstance(value, dict):
        for name, child in schema.get("properties", {}).items():
            if name in value:
                yield from rules_with_values(child, value[name], f"{path}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                yield from rules_with_values(schema["additionalProperties"], item, f"{path}[{key}]")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from rules_with_values(schema["items"], item, f"{path}[{index}]")


def violations(schema: Mapping[str, Any], value: Any) -> list[tuple[str, str]]:
    """(path, message) of every rule the (defaulted) value breaks."""
    return [
        (path + rule.get("fieldPath", ""), rule["message"])
        for path, rule, item in rules_with_values(schema, value)
        if not holds(rule["rule"], item)
    ]


def all_rules(schema: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """Every rule in a schema, wherever it sits."""
    yield from schema.get("x-kubernetes-validations", [])
    for child in schema.get("properties", {}).values():
        yield from all_rules(child)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from all_rules(schema[key])


def _type_ok(kind: str | None, value: Any) -> bool:
    checks: dict[str, Any] = {
        "object": lambda: isinstance(value, dict),
        "array": lambda: isinstance(value, list),
        "string": lambda: isinstance(value, str),
        "integer": lambda: isinstance(value, int) and not isinstance(value, bool),
        "number": lambda: isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": lambda: isinstance(value, bool),
    }
    return kind is None or bool(checks[kind]())


def schema_errors(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """OpenAPI errors of a value, worded like the apiserver's; unknown fields are pruned."""
    if not _type_ok(schema.get("type"), value):
        return [f"{path}: Invalid value: must be of type {schema['type']}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: Unsupported value: {value!r}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: should be greater than or equal to {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{path}: should be less than or equal to {schema['maximum']}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: Too long: may not be more than {schema['maxLength']} bytes")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: should be at least {schema['minLength']} chars long")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{path}: should match '{schema['pattern']}'")
    if isinstance(value, list):
        errors += _list_errors(schema, value, path)
    if isinstance(value, dict):
        errors += _object_errors(schema, value, path)
    return errors


def _list_errors(schema: Mapping[str, Any], value: list[Any], path: str) -> list[str]:
    errors: list[str] = []
    if len(value) > schema.get("maxItems", len(value)):
        errors.append(
            f"{path}: Too many: {len(value)}: must have at most {schema['maxItems']} items"
        )
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{path}: should have at least {schema['minItems']} items")
    list_type = schema.get("x-kubernetes-list-type")
    if list_type in ("set", "map"):
        keys = schema.get("x-kubernetes-list-map-keys", [])
        identities = [
            tuple(item.get(key) for key in keys) if list_type == "map" else item for item in value
        ]
        for index, identity in enumerate(identities):
            if identity in identities[:index]:
                errors.append(f"{path}[{index}]: Duplicate value: {identity!r}")
    for index, item in enumerate(value):
        errors += schema_errors(schema["items"], item, f"{path}[{index}]")
    return errors


def _object_errors(schema: Mapping[str, Any], value: dict[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    if len(value) > schema.get("maxProperties", len(value)):
        errors.append(f"{path}: Too many: must have at most {schema['maxProperties']} items")
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}.{name}: Required value")
    for name, child in schema.get("properties", {}).items():
        if name in value:
            errors += schema_errors(child, value[name], f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            errors += schema_errors(schema["additionalProperties"], item, f"{path}[{key}]")
    return errors


def server_errors(schema: Mapping[str, Any], obj: Mapping[str, Any]) -> list[str]:
    """Everything the apiserver would refuse the object for, after defaulting it."""
    defaulted = apply_defaults(schema, obj)
    errors = schema_errors(schema, defaulted)
    if errors:
        return errors
    return [f"{path}: Invalid value: {message}" for path, message in violations(schema, defaulted)]
