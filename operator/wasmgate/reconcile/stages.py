"""The WasmPlugin pipeline as wasmgate runs it: resolve, verify, validate, in this order.

Staging and rollout append their `Stage` here; the orchestrator needs nothing else.
"""

from __future__ import annotations

from wasmgate.reconcile.deps import StageDeps
from wasmgate.reconcile.pipeline import Stage
from wasmgate.reconcile.resolve_stage import resolve_stage
from wasmgate.reconcile.validate_stage import validate_stage
from wasmgate.reconcile.verify_stage import verify_stage


def plugin_stages(deps: StageDeps) -> list[Stage]:
    """The stages of one pass, bound to its clients and policies."""
    return [resolve_stage(deps), verify_stage(deps), validate_stage(deps)]
