"""The human-readable form of a ValidationReport, as `wasmgate validate` prints it."""

from __future__ import annotations

from wasmgate.validate.header import human_bytes
from wasmgate.validate.report import CallRecord, ValidationReport


def _call_line(call: CallRecord) -> str:
    parts = [f"  {call.point:<15}", f"{call.node or '':<10}"]
    if call.status is not None:
        parts.append(f"{call.status:<13}")
    if call.score is not None:
        parts.append(f"score={call.score}")
    if call.node_names is not None:
        parts.append(f"nodes={','.join(call.node_names)}")
    if call.nominated_node_name:
        parts.append(f"nominated={call.nominated_node_name}")
    if call.normalized_scores is not None:
        parts.append(f"normalized={call.normalized_scores}")
    if call.permit_timeout_ms:
        parts.append(f"timeout={call.permit_timeout_ms}ms")
    if call.reason:
        parts.append(f"reason={call.reason!r}")
    fuel = "?" if call.fuel is None else f"{call.fuel:,}"
    parts.append(f"fuel={fuel} time={call.micros:,}µs")
    if call.error:
        parts.append("FAILED")
    return " ".join(parts)


def render_report(report: ValidationReport, source: str) -> str:
    lines = [
        f"wasmgate validate {source}",
        f"  digest    {report.digest}",
        f"  size      {human_bytes(report.size)}",
    ]
    verdict = report.verdict.upper()
    if report.reason:
        verdict += f" ({report.reason})"
    if report.cached:
        verdict += "  [cached]"
    lines.append(f"  verdict   {verdict}")
    if report.message:
        lines.append(f"  {report.message}")
    lines += [f"  WARN      {warning}" for warning in report.warnings]
    if report.exports:
        lines.append("exports:")
        lines += [f"  {e.name:<15} {e.signature or e.kind}" for e in report.exports]
    if report.imports:
        lines.append("imports:")
        for i in report.imports:
            lines.append(f"  {i.module + '.' + i.name:<46} {i.signature or i.kind}")
    if report.calls:
        config = f", guestConfig {report.guest_config!r}" if report.guest_config else ""
        lines.append(f"dry run: {len(report.nodes)} nodes, pod {report.pod}{config}")
        lines += [_call_line(c) for c in report.calls]
    if report.costs:
        lines.append("cost per extension point:")
        lines += [
            f"  {c.point:<15} {c.calls} call(s)  fuel max {c.fuel_max:,}  "
            f"time max {c.micros_max:,}µs  total {c.micros_total:,}µs"
            for c in report.costs
        ]
    if report.guest_output:
        lines.append("guest output:")
        lines += [f"  {line}" for line in report.guest_output]
    return "\n".join(lines)
