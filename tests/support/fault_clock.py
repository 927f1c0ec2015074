"""Every fault case runs under a time bound (issue 15: "each case bounded in time").

A case calls `within_bound` at its end: the time it took is asserted against its bound and kept,
so the end of the run can print the fault suite's total (tests/e2e/conftest.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultCase:
    """One finished fault case and how long it took, in seconds."""

    name: str
    seconds: float
    bound: float


FINISHED: list[FaultCase] = []


def within_bound(name: str, started: float, bound: float) -> float:
    """Assert the case that began at `started` (time.monotonic) finished within `bound` seconds;
    record and return how long it took."""
    seconds = time.monotonic() - started
    FINISHED.append(FaultCase(name, seconds, bound))
    print(f"fault case {name}: {seconds:.1f} s (bound {bound:.0f} s)")
    assert seconds < bound, f"fault case {name} took {seconds:.1f} s, over its {bound:.0f} s bound"
    return seconds


def summary() -> str | None:
    """One line for the end of the run: how many fault cases ran and their total time."""
    if not FINISHED:
        return None
    total = sum(case.seconds for case in FINISHED)
    slowest = max(FINISHED, key=lambda case: case.seconds)
    return (
        f"fault suite: {len(FINISHED)} cases in {total:.0f} s "
        f"(slowest {slowest.name}: {slowest.seconds:.0f} s of its {slowest.bound:.0f} s bound)"
    )
