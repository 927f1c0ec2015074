"""Plain stage functions for unit tests of the orchestrator: they record calls and return
what the table says, so the decisions can be asserted without a registry or a cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wasmgate.api.conditions import PluginCondition
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.errors import WasmgateError
from wasmgate.reconcile.pipeline import PluginView, Stage, StageResult, fingerprint

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
SPEC = WasmPluginSpec.model_validate({"source": {"image": "registry.example/p/filter:v1"}})


@dataclass
class Script:
    """What each stage does when called, and the calls it received."""

    digest: str = DIGEST_A
    errors: dict[str, WasmgateError | Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def stages(self) -> list[Stage]:
        return [
            self._stage("resolve", PluginCondition.RESOLVED, "Resolved", self._resolve, ("gen",)),
            self._stage("verify", PluginCondition.VERIFIED, "Verified", self._verify, ("trust",)),
            self._stage(
                "validate", PluginCondition.VALIDATED, "Validated", self._validate, ("gen",)
            ),
        ]

    def _stage(
        self,
        name: str,
        condition: PluginCondition,
        reason: str,
        work: Callable[[PluginView], StageResult],
        depends: tuple[str, ...],
    ) -> Stage:
        def run(view: PluginView) -> StageResult:
            self.calls.append(name)
            error = self.errors.get(name)
            if error is not None:
                raise error
            return work(view)

        def inputs(view: PluginView) -> str:
            parts: list[Any] = [name, view.status.get("digest") if name != "resolve" else None]
            if "gen" in depends:
                parts.append(view.generation)
            if "trust" in depends:
                parts.append(view.material.get("trust"))
            return fingerprint(*parts)

        owns = {"resolve": ("digest",), "verify": ("signature",), "validate": ("validation",)}
        return Stage(name, condition, reason, run, inputs, owns[name])

    def _resolve(self, view: PluginView) -> StageResult:
        return StageResult({"digest": self.digest}, f"resolved to {self.digest}")

    def _verify(self, view: PluginView) -> StageResult:
        digest = view.status["digest"]
        return StageResult({"signature": {"keyFingerprint": "sha256:" + "f" * 64}}, f"{digest} ok")

    def _validate(self, view: PluginView) -> StageResult:
        return StageResult({"validation": {"exports": ["filter"]}}, "passed")


def view(status: dict[str, Any], generation: int = 1, trust: str = "t1") -> PluginView:
    return PluginView("filter", generation, SPEC, status, {"trust": trust})


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)
