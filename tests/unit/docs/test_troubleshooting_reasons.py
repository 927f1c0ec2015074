"""docs/troubleshooting.md lists every reason a WasmPlugin or WasmScheduler condition can carry.

The reasons come from the code: every `WasmgateError` subclass a stage, the agent or the
scheduler's init container can raise (their `reason` is the condition reason), the named reason
constants of the pipeline, staging and rollout, and each stage's success reason. A new reason
without a line in the page fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import wasmgate.agent.verify_store
import wasmgate.oci.transport
import wasmgate.reconcile.deps
import wasmgate.reconcile.validate_stage
from wasmgate.api.conditions import ALL_STEPS_SUCCEEDED, PIPELINE
from wasmgate.reconcile.pipeline import WAITING_REASON
from wasmgate.reconcile.verify_stage import NOT_REQUIRED_REASON
from wasmgate.rollout import limit, machine, status_draft
from wasmgate.staging.aggregate import ALL_NODES_STAGED, NO_TARGET_NODES, PULLING
from wasmgate.staging.plugin_staging import NO_SCHEDULER
from wasmgate_kit.errors import KitError, WasmgateError

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "troubleshooting.md"
# Modules imported above for the error classes they define (next to errors.py).
ERROR_MODULES = (
    wasmgate.agent.verify_store,
    wasmgate.oci.transport,
    wasmgate.reconcile.deps,
    wasmgate.reconcile.validate_stage,
)
# Errors that never reach a condition: the local kit's own failures.
NOT_CONDITIONS = (KitError,)
# Available/Ready reasons of a WasmScheduler, written as literals in rollout/status_draft.py.
SCHEDULER_LITERALS = ("MinimumReplicasAvailable", "NoSchedulerAvailable", "RolledOutAndAvailable")


def _error_reasons() -> set[str]:
    found: set[str] = set()
    pending: list[type[WasmgateError]] = [WasmgateError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("wasmgate.") and not issubclass(cls, NOT_CONDITIONS):
            found.add(cls.reason)
    return found


def _success_reasons() -> set[str]:
    sources = (ROOT / "operator" / "wasmgate" / "reconcile").glob("*_stage.py")
    return {m for path in sources for m in re.findall(r'success_reason="(\w+)"', path.read_text())}


def _reasons() -> set[str]:
    constants = {
        WAITING_REASON,
        NOT_REQUIRED_REASON,
        ALL_STEPS_SUCCEEDED,
        ALL_NODES_STAGED,
        NO_TARGET_NODES,
        PULLING,
        NO_SCHEDULER,
        machine.ROLLING_OUT,
        machine.WAITING_FOR_STAGING,
        machine.ROLLED_OUT,
        machine.RENDERED,
        machine.STEP_FAILED,
        limit.LIMIT_EXCEEDED,
    }
    phases = {phase.value for _, phase in PIPELINE}  # Ready's reason while a step runs
    return _error_reasons() | _success_reasons() | constants | phases | set(SCHEDULER_LITERALS)


def test_the_sources_give_the_reasons_we_expect_to_check() -> None:
    reasons = _reasons()
    assert {"Resolved", "Verified", "Validated"} <= _success_reasons()
    assert {"ValidatorUnavailable", "StoreFileTampered", "KubernetesApiUnavailable"} <= reasons
    assert "KitError" not in reasons
    for literal in SCHEDULER_LITERALS:
        assert f'"{literal}"' in Path(status_draft.__file__).read_text(), literal


def test_troubleshooting_lists_every_condition_reason() -> None:
    page = PAGE.read_text()
    missing = sorted(reason for reason in _reasons() if f"`{reason}`" not in page)
    assert missing == [], f"docs/troubleshooting.md does not explain these reasons: {missing}"
