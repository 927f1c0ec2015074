"""Admission of WasmScheduler DELETE: refuse while plugins still name the scheduler.

Deleting it would take the scheduler Deployment away from plugins that were promised to it; the
user removes the name from those plugins (or deletes them) first, and the message lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate_admission.decision import AdmissionDecision, Findings
from wasmgate_admission.lookup import Lookup, LookupFailed

MAX_LISTED = 20


def review_wasmscheduler(request: Mapping[str, Any], lookup: Lookup) -> AdmissionDecision:
    """Admit or refuse a WasmScheduler request; only DELETE is judged."""
    findings = Findings()
    if request.get("operation") != "DELETE":
        return findings.decision()
    name = (request.get("oldObject") or {}).get("metadata", {}).get("name", "")
    try:
        users = list(lookup.scheduler_plugins(name))
    except LookupFailed as e:
        findings.warn(f"could not list WasmPlugins ({e.message}); deleted anyway")
        return findings.decision()
    if users:
        shown = ", ".join(users[:MAX_LISTED])
        more = f" and {len(users) - MAX_LISTED} more" if len(users) > MAX_LISTED else ""
        findings.deny(
            f"WasmScheduler {name} is still used by WasmPlugins {shown}{more}; remove {name} "
            "from their spec.scheduler.schedulers (or delete them) first",
            reason="SchedulerInUse",
        )
    return findings.decision()
