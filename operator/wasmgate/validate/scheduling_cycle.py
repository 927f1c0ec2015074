"""The order in which the scheduler calls a guest in one scheduling cycle, and with what.

The dry run replays one cycle as upstream's framework would: the queueing hint, prefilter and
the pod events, filter per candidate node, postfilter with the nodes that failed, scoring, then
the binding cycle on the node that scored best. Each call receives what the earlier ones
produced, so a guest that reads its inputs sees a consistent cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from wasmgate.validate import abi
from wasmgate.validate.host import CallState
from wasmgate.validate.report import CallRecord
from wasmgate.validate.snapshot import ClusterSnapshot


class CallPoint(Protocol):
    """Calls one extension point with `state` (for `node` when called per node)."""

    def __call__(self, point: str, state: CallState, node: str | None = None) -> CallRecord: ...


def never_called_warnings(never_called: Iterable[str]) -> list[str]:
    """A warning for each export that upstream masks out and so never calls."""
    return [
        f"{point} is exported but upstream never calls it: its mask.go keeps {point} "
        "only for plugins that also export the main function of its group "
        "(filter for postfilter, score for prescore/normalizescore, bind for "
        "prebind/postbind); export that function or drop this one"
        for point in never_called
    ]


def run_scheduling_cycle(call: CallPoint, snapshot: ClusterSnapshot, reachable: list[str]) -> None:
    """Call every point in `reachable` (see `abi.reachable_points`) in cycle order."""
    pod = snapshot.pod
    base = CallState(current_pod=pod)
    all_nodes = snapshot.node_names

    if "enqueue" in reachable:
        call("enqueue", CallState())
    candidates = all_nodes
    if "prefilter" in reachable:
        record = call("prefilter", replace(base))
        chosen = [n for n in all_nodes if n in set(record.node_names or ())]
        if record.status_code == abi.STATUS_SUCCESS and chosen:
            candidates = chosen
    for point in ("addpod", "removepod"):
        if point in reachable:
            running = snapshot.running_pod
            state = replace(base, target_pod=running, current_node=running.node_name)
            call(point, state)

    statuses: dict[str, int] = {}
    if "filter" in reachable:
        for node in candidates:
            record = call("filter", replace(base, current_node=node), node)
            statuses[node] = record.status_code or 0
    feasible = [n for n in candidates if statuses.get(n, abi.STATUS_SUCCESS) == 0]
    if "postfilter" in reachable:
        failed = {n: c for n, c in statuses.items() if c != abi.STATUS_SUCCESS}
        call("postfilter", replace(base, node_to_status=failed))

    # Score even when every node was filtered out, so that score gets a verdict too.
    scored = feasible or candidates
    if "prescore" in reachable:
        call("prescore", replace(base, filtered_nodes=list(scored)))
    scores: dict[str, int] = {}
    if "score" in reachable:
        for node in scored:
            record = call("score", replace(base, current_node=node), node)
            scores[node] = record.score or 0
    if "normalizescore" in reachable:
        node_scores = scores or dict.fromkeys(scored, 0)
        call("normalizescore", replace(base, node_scores=node_scores))

    chosen_node = max(scored, key=lambda n: scores.get(n, 0))
    for point in ("reserve", "permit", "prebind", "bind", "postbind", "unreserve"):
        if point in reachable:
            call(point, replace(base, current_node=chosen_node))
