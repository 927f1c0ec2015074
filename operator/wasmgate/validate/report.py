"""The validation report: the one value the validate stage hands to its callers.

It crosses a process boundary (validator child -> caller), sits in the cache, feeds
`WasmPlugin.status.validation` and is printed by `wasmgate validate`, so it is a plain pydantic
model that round-trips through JSON.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wasmgate.errors import (
    AbiMismatch,
    DryRunErrorStatus,
    DryRunTrapped,
    WasmgateError,
    WasmInvalid,
)

# Bump when a change in the validator could change a verdict: cached reports of older versions
# are then ignored.
VALIDATOR_VERSION = "3"

# "fail" is the module's fault (permanent: fix the plugin); "error" is the validator's (retry).
ValidationOutcome = Literal["pass", "fail", "error"]

FAILURE_CLASSES: dict[str, type[WasmgateError]] = {
    cls.reason: cls for cls in (WasmInvalid, AbiMismatch, DryRunTrapped, DryRunErrorStatus)
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExportInfo(_Model):
    """One export of the module."""

    name: str
    kind: Literal["func", "memory", "table", "global", "tag", "other"]
    signature: str | None = Field(default=None, description="function type, for func exports")


class ImportInfo(_Model):
    """One import of the module."""

    module: str
    name: str
    kind: Literal["func", "memory", "table", "global", "tag", "other"]
    signature: str | None = None


class CallRecord(_Model):
    """One guest call made during the dry run."""

    point: str = Field(description="extension point (export name), or _start")
    node: str | None = Field(default=None, description="node evaluated, for per-node points")
    status_code: int | None = None
    status: str | None = Field(default=None, description="status code name")
    reason: str | None = Field(default=None, description="what the guest set as status reason")
    score: int | None = None
    node_names: list[str] | None = Field(default=None, description="prefilter result")
    nominated_node_name: str | None = None
    normalized_scores: dict[str, int] | None = None
    permit_timeout_ms: int | None = None
    fuel: int | None = Field(
        description="fuel consumed; None when a wall-clock interrupt ended the call (wasmtime "
        "does not write fuel back then)"
    )
    micros: int = Field(description="wall-clock time in microseconds")
    memory_pages: int = Field(default=0, description="guest memory size after the call")
    error: str | None = Field(default=None, description="trap or limit hit, if the call failed")


class PointCost(_Model):
    """Cost of one extension point over all its dry-run calls."""

    point: str
    calls: int
    fuel_max: int
    fuel_total: int
    micros_max: int
    micros_total: int


class ValidationReport(_Model):
    """What the validator found: static facts, dry-run calls, and the verdict."""

    validator_version: str = VALIDATOR_VERSION
    digest: str
    size: int
    verdict: ValidationOutcome
    reason: str | None = Field(default=None, description="condition reason when not passing")
    message: str | None = None
    exports: list[ExportInfo] = []
    imports: list[ImportInfo] = []
    extension_points: list[str] = []
    calls: list[CallRecord] = []
    costs: list[PointCost] = []
    guest_output: list[str] = Field(default=[], description="klog lines, stdout and stderr")
    warnings: list[str] = Field(
        default=[], description="what upstream tolerates but looks risky; never a refusal"
    )
    nodes: list[str] = Field(default=[], description="node names of the synthetic snapshot")
    pod: str | None = Field(default=None, description="namespace/name of the pod scheduled")
    guest_config: str = ""
    limits: dict[str, int] = {}
    elapsed_ms: float = 0.0
    cached: bool = False

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def failure(self) -> WasmgateError | None:
        """The error this report stands for (None when it passed)."""
        if self.verdict == "pass":
            return None
        message = self.message or "validation failed without a message"
        cls = FAILURE_CLASSES.get(self.reason or "")
        return cls(message) if cls is not None else WasmgateError(message)

    def raise_for_verdict(self) -> None:
        error = self.failure()
        if error is not None:
            raise error

    def status_summary(self) -> dict[str, object]:
        """`WasmPlugin.status.validation` (the api's ValidationStatus) as plain JSON data.

        Costs are the worst call of each extension point (per-node points are called once per
        node); `_start`/instantiation is not an extension point and stays out.
        """
        points = set(self.extension_points)
        return {
            "exports": list(self.extension_points),
            "imports": [
                {"module": i.module, "name": i.name} for i in self.imports if i.kind == "func"
            ],
            "costs": [
                {
                    "extensionPoint": c.point,
                    "fuel": c.fuel_max,
                    "durationMicroseconds": c.micros_max,
                }
                for c in self.costs
                if c.point in points
            ],
            "memoryPages": self.calls[-1].memory_pages if self.calls else None,
            # Bounded as the api's ValidationStatus.warnings is (16 items, 1024 characters).
            "warnings": [w[:1024] for w in self.warnings[:16]],
        }


def summarize_costs(calls: list[CallRecord]) -> list[PointCost]:
    """Aggregate per-call cost into one line per extension point, in call order."""
    order: list[str] = []
    grouped: dict[str, list[CallRecord]] = {}
    for call in calls:
        if call.point not in grouped:
            order.append(call.point)
            grouped[call.point] = []
        grouped[call.point].append(call)
    return [
        PointCost(
            point=point,
            calls=len(grouped[point]),
            fuel_max=max(c.fuel or 0 for c in grouped[point]),
            fuel_total=sum(c.fuel or 0 for c in grouped[point]),
            micros_max=max(c.micros for c in grouped[point]),
            micros_total=sum(c.micros for c in grouped[point]),
        )
        for point in order
    ]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
