"""WasmPlugin status.validation: the module's ABI surface and what its dry run cost.

The validate step writes it; `kubectl get -o yaml` shows which extension points the scheduler
will call, which host functions the module imports, and the fuel and time of each call.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from wasmgate.api.base import ApiModel
from wasmgate.api.formats import MAX_DETAIL_LENGTH
from wasmgate.api.listtypes import MapList, SetList

MAX_IMPORTS = 128
MAX_VALIDATION_WARNINGS = 16


class ExtensionPoint(StrEnum):
    """A scheduling framework extension point, named as the guest module exports it."""

    ENQUEUE = "enqueue"
    PREFILTER = "prefilter"
    FILTER = "filter"
    POSTFILTER = "postfilter"
    PRESCORE = "prescore"
    SCORE = "score"
    NORMALIZESCORE = "normalizescore"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    PERMIT = "permit"
    PREBIND = "prebind"
    BIND = "bind"
    POSTBIND = "postbind"
    ADDPOD = "addpod"
    REMOVEPOD = "removepod"


class WasmImport(ApiModel):
    """One function the module imports from the host."""

    module: str = Field(
        min_length=1,
        max_length=256,
        description="Import module, e.g. k8s.io/scheduler or wasi_snapshot_preview1.",
    )
    name: str = Field(
        min_length=1, max_length=256, description="Imported function, e.g. get_config."
    )


class ExtensionPointCost(ApiModel):
    """What one extension point cost in the dry run."""

    extension_point: ExtensionPoint = Field(description="The export that was called.")
    fuel: int = Field(ge=0, description="Wasmtime fuel consumed (about one unit per instruction).")
    duration_microseconds: int = Field(
        ge=0, description="Wall-clock time of the call, in microseconds."
    )


class ValidationStatus(ApiModel):
    """What validation found in the module: its ABI surface and dry-run costs."""

    exports: Annotated[list[ExtensionPoint], Field(max_length=len(ExtensionPoint)), SetList()] = (
        Field(
            default_factory=list,
            description="Extension points the module exports, e.g. filter, score.",
        )
    )
    imports: Annotated[
        list[WasmImport], Field(max_length=MAX_IMPORTS), MapList(keys=("module", "name"))
    ] = Field(default_factory=list, description="Host functions the module imports.")
    costs: Annotated[
        list[ExtensionPointCost],
        Field(max_length=len(ExtensionPoint)),
        MapList(keys=("extensionPoint",)),
    ] = Field(
        default_factory=list,
        description="Dry-run cost of each exported extension point on a synthetic cluster.",
    )
    memory_pages: int | None = Field(
        None,
        ge=0,
        description="Linear memory the guest held after the dry run, in 64 KiB pages.",
    )
    warnings: Annotated[
        list[Annotated[str, Field(max_length=MAX_DETAIL_LENGTH)]],
        Field(max_length=MAX_VALIDATION_WARNINGS),
    ] = Field(
        default_factory=list,
        description=(
            "What upstream's scheduler tolerates but looks risky, e.g. an export it never calls "
            "or a trap in postbind that it only logs. Warnings never block the plugin."
        ),
    )
