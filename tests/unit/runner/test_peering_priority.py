"""Replicas sharing a peering never tie: kopf freezes every operator of a tied priority."""

from __future__ import annotations

import argparse

from wasmgate.runner.cli import MAX_PRIORITY, _peering_priority


def _args(peering: str | None, priority: int | None = None) -> argparse.Namespace:
    return argparse.Namespace(peering=peering, priority=priority)


def test_standalone_operators_have_no_priority() -> None:
    assert _peering_priority(_args(None)) is None


def test_an_explicit_priority_is_kept() -> None:
    assert _peering_priority(_args("wasmgate", 7)) == 7


def test_replicas_draw_different_positive_priorities() -> None:
    drawn = {_peering_priority(_args("wasmgate")) for _ in range(50)}
    assert len(drawn) == 50, "fifty replicas, fifty priorities"
    assert all(p is not None and 1 <= p <= MAX_PRIORITY for p in drawn)
