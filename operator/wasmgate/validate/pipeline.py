"""All validation steps in order, in whatever process runs them.

Normally this runs inside the rlimited validator child (see `sandbox.py`); tests may call it
directly. It imports wasmtime; the caller's side of the sandbox (`validator.py`) does not.
It never raises for a bad module: every outcome, including a bug in the validator itself,
becomes a report, so that the caller always gets a verdict.
"""

from __future__ import annotations

import time

from wasmgate.errors import AbiMismatch, DryRunErrorStatus, DryRunTrapped, WasmInvalid
from wasmgate.validate.abi import START_EXPORT
from wasmgate.validate.binary import ModuleInterface
from wasmgate.validate.dry_run import DryRun
from wasmgate.validate.engine import make_engine
from wasmgate.validate.header import check_header
from wasmgate.validate.host import GuestOutput
from wasmgate.validate.report import (
    CallRecord,
    ExportInfo,
    ImportInfo,
    ValidationOutcome,
    ValidationReport,
    sha256_digest,
    summarize_costs,
)
from wasmgate.validate.settings import ValidationLimits
from wasmgate.validate.snapshot import build_snapshot
from wasmgate.validate.static_check import check_abi, compile_module, read_interface

INTERNAL_ERROR_REASON = "InternalError"


def interface_info(interface: ModuleInterface) -> tuple[list[ExportInfo], list[ImportInfo]]:
    exports = [
        ExportInfo(
            name=e.name,
            kind=e.kind,
            signature=None if e.signature is None else str(e.signature),
        )
        for e in interface.exports
    ]
    imports = [
        ImportInfo(
            module=i.module,
            name=i.name,
            kind=i.kind,
            signature=None if i.signature is None else str(i.signature),
        )
        for i in interface.imports
    ]
    return exports, imports


def validate_in_process(
    data: bytes,
    limits: ValidationLimits,
    guest_config: str = "",
    log_severity: int = 0,
    digest: str | None = None,
) -> ValidationReport:
    """Run the header check, the static check and the dry run; always return a report."""
    started = time.perf_counter()
    snapshot = build_snapshot(limits.nodes)
    exports: list[ExportInfo] = []
    imports: list[ImportInfo] = []
    points: list[str] = []
    calls: list[CallRecord] = []
    output = GuestOutput()
    warnings: list[str] = []
    verdict: ValidationOutcome = "pass"
    reason: str | None = None
    message: str | None = None
    try:
        check_header(data, limits.max_module_bytes)
        engine = make_engine()
        interface = read_interface(engine, data)
        exports, imports = interface_info(interface)
        points = check_abi(interface)
        module = compile_module(engine, data)
        dry_run = DryRun(
            engine, module, limits, snapshot, guest_config, log_severity, calls, output
        )
        warnings = dry_run.warnings
        dry_run.run(points, has_start=any(e.name == START_EXPORT for e in exports))
    except (WasmInvalid, AbiMismatch, DryRunTrapped, DryRunErrorStatus) as e:
        verdict, reason, message = "fail", e.reason, e.message
    except Exception as e:
        verdict, reason = "error", INTERNAL_ERROR_REASON
        message = f"the validator itself failed ({type(e).__name__}: {e}); please report this"
    return ValidationReport(
        digest=digest or sha256_digest(data),
        size=len(data),
        verdict=verdict,
        reason=reason,
        message=message,
        exports=exports,
        imports=imports,
        extension_points=points,
        calls=calls,
        costs=summarize_costs(calls),
        guest_output=output.finish(),
        warnings=warnings,
        nodes=snapshot.node_names,
        pod=snapshot.pod.key,
        guest_config=guest_config,
        limits=limits.as_dict(),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
