"""The validate stage: fetch the verified digest's module and check it like the scheduler would.

The manifest is read again by digest (a stage never trusts earlier bytes) and its module
validated under the plugin's spec.limits; a module this operator validated before under the same
limits is known by its content digest, and its bytes are not fetched again. The report's
exports, imports and costs go to status.validation. The validator's own failure (verdict "error")
is temporary and retried; a module that fails is permanent until the spec or the digest changes.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasmgate.api.conditions import PluginCondition
from wasmgate.api.validation_status import MAX_IMPORTS, ValidationStatus
from wasmgate.api.wasmplugin import LOG_SEVERITY_LEVELS, WasmPluginSpec
from wasmgate.errors import InvalidSpec, WasmgateError
from wasmgate.oci.fetch import fetch_layer
from wasmgate.oci.reference import parse_reference
from wasmgate.oci.resolve import resolve
from wasmgate.reconcile.deps import StageDeps
from wasmgate.reconcile.pipeline import PluginView, Stage, StageFailed, StageResult, fingerprint
from wasmgate.reconcile.policy import max_module_bytes
from wasmgate.reconcile.secrets import pull_credentials
from wasmgate.validate.report import ValidationReport
from wasmgate.validate.settings import ValidationLimits
from wasmgate.validate.validator import cached_validation, validate

MODULE_FILE = "plugin.wasm"


class ValidatorUnavailable(WasmgateError):
    """The validator itself failed (not the module); retried with backoff."""

    reason = "ValidatorUnavailable"


def validation_limits(spec: WasmPluginSpec, max_bytes: int) -> ValidationLimits:
    """The dry-run limits of spec.limits, with the module size cap."""
    return ValidationLimits.for_plugin(
        fuel=spec.limits.fuel,
        memory_pages=spec.limits.memory_pages,
        call_timeout_ms=spec.limits.call_timeout_ms,
        start_timeout_ms=spec.limits.start_timeout_ms,
        max_module_bytes=max_bytes,
    )


def validation_status(report: ValidationReport) -> dict[str, Any]:
    """status.validation from a report, capped to what the CRD accepts."""
    summary = dict(report.status_summary())
    imports = summary.get("imports")
    if isinstance(imports, list):
        summary["imports"] = imports[:MAX_IMPORTS]
    model = ValidationStatus.model_validate(summary)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _validate_module(
    view: PluginView, deps: StageDeps, digest: str, max_bytes: int
) -> ValidationReport:
    settings = replace(deps.registry, max_blob_bytes=max_bytes)
    credentials = pull_credentials(view.spec, deps.read_secret)
    pinned = parse_reference(view.spec.source.image).pinned(digest)
    resolved = resolve(pinned, settings, credentials)
    scheduler = view.spec.scheduler
    limits = validation_limits(view.spec, max_bytes)
    guest_config = scheduler.guest_config or ""
    severity = LOG_SEVERITY_LEVELS[scheduler.log_severity]
    cache = deps.validation_cache
    module = cache.module_of(resolved.layer_digest) if cache is not None else None
    if cache is not None and module is not None:
        known = cached_validation(
            module, limits=limits, guest_config=guest_config, log_severity=severity, cache=cache
        )
        if known is not None:
            return known
    with tempfile.TemporaryDirectory(dir=deps.work_dir, prefix="wasmgate-validate-") as tmp:
        fetched = fetch_layer(resolved, Path(tmp) / MODULE_FILE, settings, credentials)
        data = fetched.path.read_bytes()
    report = validate(
        data, limits=limits, guest_config=guest_config, log_severity=severity, cache=cache
    )
    if cache is not None:
        cache.note_layer(resolved.layer_digest, report.digest)
    return report


def validate_stage(deps: StageDeps) -> Stage:
    """The stage, bound to this pass's clients and settings."""

    def run(view: PluginView) -> StageResult:
        digest = view.status.get("digest")
        if not isinstance(digest, str):
            raise InvalidSpec("status.digest is missing; the plugin must be resolved first")
        max_bytes = max_module_bytes(view.spec, deps.policies)
        report = _validate_module(view, deps, digest, max_bytes)
        if report.verdict == "error":
            raise ValidatorUnavailable(report.message or "the validator failed without a message")
        status = {"validation": validation_status(report)}
        error = report.failure()
        if error is not None:
            raise StageFailed(error, status)
        points = ", ".join(report.extension_points)
        return StageResult(
            status,
            f"{digest}: exports {points}; the dry run over {len(report.nodes)} nodes passed "
            "within spec.limits",
        )

    def inputs(view: PluginView) -> str:
        return fingerprint(
            "validate",
            view.generation,
            view.status.get("digest"),
            view.material.get("policies", ""),
        )

    return Stage(
        name="validate",
        condition=PluginCondition.VALIDATED,
        success_reason="Validated",
        run=run,
        inputs=inputs,
        owns=("validation",),
    )
