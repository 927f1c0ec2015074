"""CustomResourceDefinitions of the wasmgate.dev group, built from the models.

`build_crd(kind)` is a pure function returning the CRD as a dict; `wasmgate crds` writes the four
of them to crds/ and a test fails when the committed files differ from what it builds.
"""

from __future__ import annotations

from typing import Any

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.kinds import KINDS
from wasmgate.api.resource import CATEGORY, KindInfo, PrinterColumn
from wasmgate.api.schema import model_schema

# The standard descriptions of the fields every object has, as Kubernetes' own types word them.
_API_VERSION = {
    "description": "APIVersion defines the versioned schema of this representation of an "
    "object; always wasmgate.dev/v1alpha1.",
    "type": "string",
}
_KIND = {
    "description": "Kind is a string value representing the REST resource this object represents.",
    "type": "string",
}
_METADATA = {"type": "object"}


def crd_name(info: KindInfo) -> str:
    """The CRD's object name, `<plural>.<group>`."""
    return f"{info.plural}.{GROUP}"


def resource_schema(info: KindInfo) -> dict[str, Any]:
    """The openAPIV3Schema of a kind: its model, with the standard apiVersion/kind/metadata."""
    schema = model_schema(info.model)
    properties = schema["properties"]
    properties.update(apiVersion=_API_VERSION, kind=_KIND, metadata=_METADATA)
    schema["properties"] = {
        name: properties[name] for name in ("apiVersion", "kind", "metadata", "spec", "status")
    }
    schema["required"] = [name for name in schema.get("required", []) if name == "spec"]
    if not schema["required"]:
        del schema["required"]
    return schema


def _column(column: PrinterColumn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": column.name,
        "type": column.type,
        "jsonPath": column.json_path,
        "description": column.description,
    }
    if column.priority:
        out["priority"] = column.priority
    return out


def build_crd(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of `kind` (e.g. "WasmPlugin")."""
    info = KINDS[kind]
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "additionalPrinterColumns": [_column(column) for column in info.printer_columns],
    }
    if info.selectable_fields:
        version["selectableFields"] = [{"jsonPath": path} for path in info.selectable_fields]
    version["schema"] = {"openAPIV3Schema": resource_schema(info)}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": crd_name(info),
            "labels": {"app.kubernetes.io/part-of": "wasmgate"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": [CATEGORY],
            },
            "scope": "Cluster",
            "versions": [version],
        },
    }
