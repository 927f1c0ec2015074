"""How a kind presents itself in the API: names, printer columns, selectable fields.

Each kind module declares one `KindInfo` next to its model, so the JSONPaths of its printer
columns sit beside the fields they read; `wasmgate.api.crd` turns it into a CRD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wasmgate.api.base import Resource

CATEGORY = "wasmgate"


@dataclass(frozen=True)
class PrinterColumn:
    """One `kubectl get` column: a JSONPath into the object."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0  # 0: always shown; 1: only with `-o wide`


AGE = PrinterColumn(
    name="Age",
    type="date",
    json_path=".metadata.creationTimestamp",
    description="Time since the object was created.",
)


def condition_status_column(condition: str, name: str, description: str) -> PrinterColumn:
    """A column showing the status (True, False, Unknown) of one condition."""
    return PrinterColumn(
        name=name,
        type="string",
        json_path=f'.status.conditions[?(@.type=="{condition}")].status',
        description=description,
    )


@dataclass(frozen=True)
class KindInfo:
    """A cluster-scoped kind of the wasmgate.dev group."""

    model: type[Resource]
    plural: str
    short_names: tuple[str, ...]
    printer_columns: tuple[PrinterColumn, ...]
    # Who creates and edits objects of this kind, for the reference docs.
    written_by: str
    # Fields usable with `kubectl get --field-selector` (strings, integers or booleans).
    selectable_fields: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.model.__name__

    @property
    def singular(self) -> str:
        return self.kind.lower()
