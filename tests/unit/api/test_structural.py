"""The generated CRDs obey the apiserver's rules for structural schemas and CRD metadata.

These are the rules the apiserver enforces when a CRD is created (apiextensions validation);
breaking one means `kubectl apply -f crds/` fails. The kit's end-to-end tests apply the CRDs to a
real apiserver as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from support.api_samples import nodes, openapi_schema
from support.api_server import apply_defaults, schema_errors
from wasmgate.api.crd import build_crd
from wasmgate.api.kinds import KINDS

KIND_IDS = list(KINDS)
FORBIDDEN = {"$ref", "$defs", "definitions", "anyOf", "allOf", "oneOf", "not", "nullable",
             "title", "const", "uniqueItems", "propertyNames", "exclusiveMinimum",
             "exclusiveMaximum", "examples"}  # fmt: skip
SCALARS = {"string", "integer", "number", "boolean"}


@pytest.mark.parametrize("kind", KIND_IDS)
def test_no_keyword_outside_structural_openapi(kind: str) -> None:
    found = [
        (path, key)
        for path, node in nodes(openapi_schema(kind))
        for key in node
        if key in FORBIDDEN
    ]
    assert found == []


@pytest.mark.parametrize("kind", KIND_IDS)
def test_every_node_has_a_type(kind: str) -> None:
    untyped = [
        path
        for path, node in nodes(openapi_schema(kind))
        if "type" not in node and not node.get("x-kubernetes-preserve-unknown-fields")
    ]
    assert untyped == []


@pytest.mark.parametrize("kind", KIND_IDS)
def test_properties_and_additional_properties_never_together(kind: str) -> None:
    both = [
        path
        for path, node in nodes(openapi_schema(kind))
        if "properties" in node and "additionalProperties" in node
    ]
    assert both == []
    booleans = [
        path
        for path, node in nodes(openapi_schema(kind))
        if isinstance(node.get("additionalProperties"), bool)
    ]
    assert booleans == []


@pytest.mark.parametrize("kind", KIND_IDS)
def test_list_types_are_well_formed(kind: str) -> None:
    for path, node in nodes(openapi_schema(kind)):
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "set":
            assert node["items"]["type"] in SCALARS, path
        if list_type == "map":
            items = node["items"]
            keys = node["x-kubernetes-list-map-keys"]
            for key in keys:
                # A map key must be required or defaulted, and scalar.
                assert key in items.get("required", []) or "default" in items["properties"][key], (
                    path
                )
                assert items["properties"][key]["type"] in SCALARS, path


@pytest.mark.parametrize("kind", KIND_IDS)
def test_defaults_are_valid_values(kind: str) -> None:
    for path, node in nodes(openapi_schema(kind)):
        if "default" in node:
            defaulted = apply_defaults(node, node["default"])
            assert schema_errors(node, defaulted, path) == [], path


@pytest.mark.parametrize("kind", KIND_IDS)
def test_status_conditions_are_a_map_keyed_by_type(kind: str) -> None:
    status = openapi_schema(kind)["properties"]["status"]
    if "conditions" not in status["properties"]:
        assert kind == "WasmNodeCache"
        return
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert item["required"] == ["type", "status", "lastTransitionTime", "reason"]
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"


@pytest.mark.parametrize("kind", KIND_IDS)
def test_root_is_what_the_apiserver_expects(kind: str) -> None:
    schema = openapi_schema(kind)
    assert schema["type"] == "object"
    assert list(schema["properties"]) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert schema["properties"]["metadata"] == {"type": "object"}
    assert schema["properties"]["apiVersion"]["type"] == "string"
    assert "default" not in schema["properties"]["status"]


def _resolve(schema: Mapping[str, Any], json_path: str) -> Mapping[str, Any]:
    """The schema node a printer-column JSONPath reads (simple paths and [?(...)] filters)."""
    if json_path.startswith(".metadata."):
        return {"type": "string", "format": "date-time"}
    node = schema
    for step in re.findall(r"\.(\w+)(\[\?\(.*?\)\])?", json_path):
        name, has_filter = step
        node = node["properties"][name]
        if has_filter:
            node = node["items"]
    return node


COLUMN_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "date": "string"}


@pytest.mark.parametrize("kind", KIND_IDS)
def test_printer_columns_read_existing_fields(kind: str) -> None:
    crd = build_crd(kind)
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    for column in version["additionalPrinterColumns"]:
        node = _resolve(schema, column["jsonPath"])
        assert node["type"] == COLUMN_TYPES[column["type"]], column
        assert column["description"]
    assert "Age" in [column["name"] for column in version["additionalPrinterColumns"]]


@pytest.mark.parametrize("kind", KIND_IDS)
def test_selectable_fields_are_scalars_outside_lists(kind: str) -> None:
    version = build_crd(kind)["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    for field in version.get("selectableFields", []):
        assert "[" not in field["jsonPath"]
        assert _resolve(schema, field["jsonPath"])["type"] in SCALARS


@pytest.mark.parametrize("kind", KIND_IDS)
def test_rule_field_paths_name_a_property(kind: str) -> None:
    for path, node in nodes(openapi_schema(kind)):
        for rule in node.get("x-kubernetes-validations", []):
            if "fieldPath" in rule:
                target = node
                for name in rule["fieldPath"].lstrip(".").split("."):
                    target = target["properties"][name]
                assert target, (path, rule)


EXPECTED_NAMES = {
    "WasmPlugin": ("wasmplugins", ["wp"]),
    "WasmScheduler": ("wasmschedulers", ["ws"]),
    "WasmTrustPolicy": ("wasmtrustpolicies", ["wtp"]),
    "WasmNodeCache": ("wasmnodecaches", ["wnc"]),
}


@pytest.mark.parametrize("kind", KIND_IDS)
def test_crd_metadata(kind: str) -> None:
    crd = build_crd(kind)
    plural, short_names = EXPECTED_NAMES[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.wasmgate.dev"
    spec = crd["spec"]
    assert spec["group"] == "wasmgate.dev"
    assert spec["scope"] == "Cluster"
    assert spec["names"] == {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": kind.lower(),
        "shortNames": short_names,
        "categories": ["wasmgate"],
    }
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_wasmplugin_columns_match_the_design() -> None:
    version = build_crd("WasmPlugin")["spec"]["versions"][0]
    columns = [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]
    assert columns == [
        ("Phase", ".status.phase"),
        ("Verified", '.status.conditions[?(@.type=="Verified")].status'),
        ("Staged", ".status.staging.summary"),
        ("Digest", ".status.shortDigest"),
        ("Age", ".metadata.creationTimestamp"),
        ("Image", ".spec.source.image"),
        ("Mirror", ".status.source.mirror"),
    ]


@pytest.mark.parametrize("kind", KIND_IDS)
def test_rules_read_only_declared_fields(kind: str) -> None:
    # The apiserver compiles rules against the schema: `self.x` on an object that does not
    # declare x fails to compile, even under x-kubernetes-preserve-unknown-fields.
    undeclared = []
    for path, node in nodes(openapi_schema(kind)):
        for rule in node.get("x-kubernetes-validations", []):
            for name, rest in re.findall(r"self\.(\w+)((?:\.\w+)*)", rule["rule"]):
                if name in ("matches", "contains", "startsWith", "endsWith", "all"):
                    continue  # string and list functions called on self
                if path == "" and name == "metadata":
                    assert rest == ".name", rule  # only name is visible in root rules
                    continue
                if name not in node.get("properties", {}):
                    undeclared.append((path, name))
    assert undeclared == []
