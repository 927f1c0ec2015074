"""The entry point of the validate stage: bytes and limits in, a report out.

This side never loads wasmtime: it hashes, consults the cache, refuses what the header already
shows is not a core module, and hands everything else to the sandboxed child. Resolving an OCI
reference to bytes is the oci stage's job; callers pass bytes (plus, optionally, the digest they
expect, which is checked, never trusted).
"""

from __future__ import annotations

import time

from wasmgate import metrics
from wasmgate.errors import DigestMismatch, WasmInvalid
from wasmgate.validate.cache import ValidationCache, cache_key
from wasmgate.validate.header import check_header
from wasmgate.validate.protocol import ValidationRequest
from wasmgate.validate.report import ValidationReport, sha256_digest
from wasmgate.validate.sandbox import outcome_report, run_in_child
from wasmgate.validate.settings import ValidationLimits


def validate(
    data: bytes,
    *,
    limits: ValidationLimits | None = None,
    guest_config: str = "",
    log_severity: int = 0,
    cache: ValidationCache | None = None,
    expected_digest: str | None = None,
) -> ValidationReport:
    """Validate a plugin module; always returns a report (see `ValidationReport.verdict`).

    Raises DigestMismatch only when `expected_digest` is given and the bytes hash otherwise.
    """
    started = time.perf_counter()
    limits = limits or ValidationLimits()
    digest = sha256_digest(data)
    if expected_digest is not None and expected_digest != digest:
        raise DigestMismatch(
            f"the bytes to validate hash to {digest}, not to the expected {expected_digest}; "
            "re-fetch the blob"
        )
    key = cache_key(digest, limits, guest_config, log_severity)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            elapsed = round((time.perf_counter() - started) * 1000, 3)
            return _counted(hit.model_copy(update={"cached": True, "elapsed_ms": elapsed}))

    request = ValidationRequest(data, limits, guest_config, log_severity, digest)
    try:
        check_header(data, limits.max_module_bytes)
    except WasmInvalid as e:
        report = outcome_report(request, "fail", e.reason, e.message)
    else:
        report = run_in_child(request)
    report = report.model_copy(
        update={"elapsed_ms": round((time.perf_counter() - started) * 1000, 3)}
    )
    if cache is not None:
        cache.put(key, report)
    return _counted(report)


def cached_validation(
    digest: str,
    *,
    limits: ValidationLimits | None = None,
    guest_config: str = "",
    log_severity: int = 0,
    cache: ValidationCache,
) -> ValidationReport | None:
    """The cached report of the module whose sha256 is `digest`, without its bytes; None when
    the cache has none (validate the bytes then)."""
    started = time.perf_counter()
    key = cache_key(digest, limits or ValidationLimits(), guest_config, log_severity)
    hit = cache.get(key)
    if hit is None:
        return None
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    return _counted(hit.model_copy(update={"cached": True, "elapsed_ms": elapsed}))


def _counted(report: ValidationReport) -> ValidationReport:
    metrics.record_validation(
        report.verdict,
        report.reason or "Validated",
        cached=report.cached,
        fuel=sum(cost.fuel_total for cost in report.costs),
        seconds=report.elapsed_ms / 1000,
    )
    return report
