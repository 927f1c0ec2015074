"""Sum the node agents' WasmNodeCaches into a plugin's status.staging and Staged condition.

The scheduler may roll only when every desired node holds the verified bytes, so this is the
gate between staging and rollout. Only reports from desired nodes count, and only for the exact
layer digest the plugin's status names; a report about another digest is no evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from wasmgate.api.condition import Condition, ConditionStatus
from wasmgate.api.conditions import PluginCondition, set_condition
from wasmgate.api.staging_status import MAX_FAILING_NODES, FailingNode, StagingStatus
from wasmgate.api.wasmnodecache import CacheEntry, CacheState, WasmNodeCache

ALL_NODES_STAGED = "AllNodesStaged"
NO_TARGET_NODES = "NoTargetNodes"
PULLING = "Pulling"
_WAITING_NAMES = 5


@dataclass(frozen=True)
class StagingResult:
    """The new status.staging and conditions (with Staged set)."""

    staging: StagingStatus
    conditions: list[Condition]


def _entry_for(cache: WasmNodeCache, layer_digest: str) -> CacheEntry | None:
    entries = cache.status.entries if cache.status else []
    return next((entry for entry in entries if entry.digest == layer_digest), None)


def _staged_condition(
    ready: int, desired: int, failing: Sequence[FailingNode], waiting: Sequence[str]
) -> tuple[ConditionStatus, str, str]:
    if desired == 0:
        return (
            ConditionStatus.UNKNOWN,
            NO_TARGET_NODES,
            "no node matches the nodeSelector and tolerations of the plugin's WasmSchedulers",
        )
    if ready == desired:
        return ConditionStatus.TRUE, ALL_NODES_STAGED, f"{ready}/{desired} nodes hold the bytes"
    summary = f"{ready}/{desired} nodes hold the bytes"
    if failing:
        first = failing[0]
        return (
            ConditionStatus.UNKNOWN,
            first.reason,
            f"{summary}; {len(failing)} failing, first {first.node}: {first.message}",
        )
    names = ", ".join(waiting[:_WAITING_NAMES])
    return ConditionStatus.UNKNOWN, PULLING, f"{summary}; waiting for {names}"


def aggregate_staging(
    layer_digest: str,
    desired: Iterable[str],
    caches: Iterable[WasmNodeCache],
    conditions: Sequence[Condition],
    *,
    generation: int | None,
    now: datetime,
) -> StagingResult:
    """status.staging and the Staged condition of a plugin whose nodes store `layer_digest`.

    Staged is True when every desired node reports the digest Ready; otherwise Unknown (nodes
    are pulling, or retrying a failure with backoff), with the first failing node's reason.
    """
    desired_nodes = sorted(set(desired))
    by_node = {cache.spec.node_name: cache for cache in caches}
    ready = 0
    failing: list[FailingNode] = []
    waiting: list[str] = []
    for node in desired_nodes:
        cache = by_node.get(node)
        entry = _entry_for(cache, layer_digest) if cache else None
        if entry is not None and entry.state is CacheState.READY:
            ready += 1
        elif entry is not None and entry.state is CacheState.FAILED:
            failing.append(
                FailingNode(
                    node=node,
                    reason=entry.reason or "StagingFailed",
                    message=entry.last_error or "",
                )
            )
        else:
            waiting.append(node if cache else f"{node} (no report from its agent)")
    status, reason, message = _staged_condition(ready, len(desired_nodes), failing, waiting)
    staging = StagingStatus.model_validate(
        {
            "ready": ready,
            "desired": len(desired_nodes),
            "failingNodes": [node.to_json() for node in failing[:MAX_FAILING_NODES]],
        }
    )
    updated = set_condition(
        conditions,
        type_=PluginCondition.STAGED,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        now=now,
    )
    return StagingResult(staging, updated)
