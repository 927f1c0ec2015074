"""Compare, then write: whether an object the apiserver returned already is what we would write.

Every scheduler pass used to re-PATCH the Deployment (and the scheduler's status) even when
nothing changed, so the operator's API cost grew with the number of passes rather than with the
changes. The apiserver adds defaults, status and bookkeeping to every object, so "unchanged"
means: every field we set has the value we set. A merge patch of only our fields would then be a
no-op, and is not sent. A field the apiserver normalises (a quantity written "0.5" read back
"500m") only costs the write we would have made anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def holds(current: Any, desired: Any) -> bool:
    """Whether `current` (as the apiserver returns it) already has every field of `desired`.

    Lists must match item by item: the apiserver keeps their order, and a list of ours that
    lost or gained an item is a change."""
    if isinstance(desired, Mapping):
        return isinstance(current, Mapping) and all(
            key in current and holds(current[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(current) == len(desired)
            and all(holds(have, want) for have, want in zip(current, desired, strict=True))
        )
    return bool(current == desired)
