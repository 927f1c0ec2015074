"""Run the validator in a child process, so a pathological module cannot take the caller down.

The child (`worker.py`) caps its address space, memory and CPU time; this side adds a wall-clock
timeout and turns every way the child can die into a report. A module that kills the validator
(a crash inside the runtime, the CPU or memory limit, the timeout) fails with DryRunTrapped:
we cannot tell a runtime crash from a module that provokes one, and neither may reach the
scheduler. Only a child that exits normally without a report (a bug on our side) is an error.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from pydantic import ValidationError

from wasmgate.errors import DryRunTrapped
from wasmgate.validate.protocol import ValidationRequest, encode_request
from wasmgate.validate.report import ValidationReport, Verdict
from wasmgate.validate.settings import ValidationLimits

WORKER_MODULE = "wasmgate.validate.worker"
STDERR_TAIL_CHARS = 2000


def outcome_report(
    request: ValidationRequest, verdict: Verdict, reason: str, message: str
) -> ValidationReport:
    """A report for a validation that produced no report of its own."""
    return ValidationReport(
        digest=request.digest,
        size=len(request.data),
        verdict=verdict,
        reason=reason,
        message=message,
        guest_config=request.guest_config,
        limits=request.limits.as_dict(),
    )


def _signal_message(signum: int, limits: ValidationLimits, stderr: str) -> str:
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else signum
    data_gib = limits.child_data_bytes / (1024**3)
    if signum == signal.SIGXCPU:
        cause = (
            f"it used its CPU limit of {limits.child_cpu_seconds} s "
            "(validator setting child_cpu_seconds)"
        )
    elif signum == signal.SIGKILL:
        cause = "it was killed: the hard CPU limit or the system's out-of-memory killer"
    else:
        cause = (
            "it crashed; most often an allocation failed against the memory limit of "
            f"{data_gib:.1f} GiB (validator setting child_data_bytes)"
        )
    tail = stderr.strip()[-STDERR_TAIL_CHARS:]
    detail = f"; stderr: {tail}" if tail else ""
    return f"the validator child died with {name}: {cause}{detail}"


def run_in_child(request: ValidationRequest) -> ValidationReport:
    limits = request.limits
    try:
        child = subprocess.run(
            [sys.executable, "-m", WORKER_MODULE],
            input=encode_request(request),
            capture_output=True,
            timeout=limits.child_timeout_seconds,
            check=False,
            cwd="/",
        )
    except subprocess.TimeoutExpired:
        return outcome_report(
            request,
            "fail",
            DryRunTrapped.reason,
            f"the validation did not finish within {limits.child_timeout_seconds} s "
            "(validator setting child_timeout_seconds); the module takes too long to compile "
            "or to run",
        )
    # A complete report stands even if the child died afterwards, while tearing down.
    try:
        return ValidationReport.model_validate_json(child.stdout)
    except ValidationError:
        pass
    stderr = child.stderr.decode("utf-8", "replace")
    if child.returncode < 0:
        message = _signal_message(-child.returncode, limits, stderr)
        return outcome_report(request, "fail", DryRunTrapped.reason, message)
    tail = stderr.strip()[-STDERR_TAIL_CHARS:] or "(no output)"
    return outcome_report(
        request,
        "error",
        "InternalError",
        f"the validator child exited with code {child.returncode} without a report: {tail}",
    )
