"""What a guest's answer means to the scheduler framework, and whether the framework accepts it.

Guests return one packed 64-bit integer whose layout depends on the extension point (a status
code, a score and a code, a permit timeout and a code); the rest of the answer comes through
host calls, recorded in the call's state. Decoding both into a `CallRecord` and checking them
against upstream's rules lets the dry run refuse what would fail or crash a real scheduler.
"""

from __future__ import annotations

from typing import Any

from wasmgate.errors import AbiMismatch, DryRunErrorStatus
from wasmgate.validate import abi
from wasmgate.validate.host import CallState
from wasmgate.validate.report import CallRecord


def signed32(value: int) -> int:
    """The low 32 bits of `value` read as a two's complement integer."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def decode_result(
    spec: abi.ExtensionPoint, raw: Any, state: CallState, record: CallRecord
) -> CallRecord:
    """`record` completed with what the call returned (`raw`) and set through the host."""
    update: dict[str, Any] = {"reason": state.status_reason}
    if spec.result is abi.ResultKind.NONE:
        return record.model_copy(update=update)
    value = int(raw) & 0xFFFFFFFFFFFFFFFF
    high, low = signed32(value >> 32), signed32(value)
    if spec.result is abi.ResultKind.STATUS:
        code = low
    elif spec.result is abi.ResultKind.SCORE:
        code, update["score"] = low, high
    elif spec.result is abi.ResultKind.POSTFILTER:
        code = low
        update["nominated_node_name"] = state.nominated_node_name
    else:  # PERMIT packs the code in the high half and a timeout in the low half.
        code, update["permit_timeout_ms"] = high, value & 0xFFFFFFFF
    update["status_code"] = code
    update["status"] = abi.status_name(code)
    if spec.name == "prefilter":
        update["node_names"] = state.node_names
    if spec.name == "normalizescore":
        update["normalized_scores"] = state.normalized_scores
    return record.model_copy(update=update)


def result_refusal(
    spec: abi.ExtensionPoint, record: CallRecord, state: CallState, normalizes: bool
) -> AbiMismatch | DryRunErrorStatus | None:
    """Why the scheduler could not use this answer, or None when it can.

    `normalizes` says whether the guest exports normalizescore, which lifts score's range.
    """
    where = spec.name if record.node is None else f"{spec.name} (node {record.node})"
    problems = []
    if record.status_code is not None and record.status_code not in abi.STATUS_NAMES:
        problems.append(
            f"{where} returned status code {record.status_code}; the scheduler framework "
            f"knows codes 0..{max(abi.STATUS_NAMES)} "
            f"({', '.join(f'{k} {v}' for k, v in abi.STATUS_NAMES.items())})"
        )
    if (
        spec.name == "score"
        and record.status_code == abi.STATUS_SUCCESS
        and not normalizes
        and record.score is not None
        and not abi.MIN_NODE_SCORE <= record.score <= abi.MAX_NODE_SCORE
    ):
        problems.append(
            f"{where} returned score {record.score}; without normalizescore the scheduler "
            f"requires {abi.MIN_NODE_SCORE}..{abi.MAX_NODE_SCORE} and fails the cycle otherwise"
        )
    if spec.name == "normalizescore":
        # Upstream (plugin/guest.go normalizeScore) keeps the node scores when the guest
        # sets no list; a list of another length panics (plugin.go NormalizeScore).
        normalized = state.normalized_scores or state.node_scores
        if len(normalized) != len(state.node_scores):
            problems.append(
                f"{where} set {len(normalized)} normalized scores for "
                f"{len(state.node_scores)} nodes (result.normalized_score_list); "
                "upstream panics on a size mismatch, crashing the scheduler"
            )
        out_of_range = {
            k: v for k, v in normalized.items() if not abi.MIN_NODE_SCORE <= v <= abi.MAX_NODE_SCORE
        }
        if out_of_range:
            problems.append(f"{where} normalized scores outside 0..100: {out_of_range}")
    if problems:
        return AbiMismatch("; ".join(problems))
    if record.status_code == abi.STATUS_ERROR:
        # Upstream returns the guest's Error to the framework, which fails the pod's
        # scheduling cycle (unlike Unschedulable): a plugin that answers Error here would
        # do it to real pods too.
        reason = record.reason or "no reason given"
        return DryRunErrorStatus(
            f"{where} answered Error ({reason!r}); the scheduler fails the scheduling cycle "
            "of a pod on Error: check spec.scheduler.guestConfig and the plugin's "
            "documentation, or return Unschedulable for a node the plugin rejects"
        )
    return None
