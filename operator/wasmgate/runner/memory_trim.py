"""Give freed memory back to the system after plugins are deleted, as far as it can be.

A full garbage collection frees the deleted plugins' objects that sit in reference cycles (the
oldest generation may otherwise not be collected for a long time), and glibc's `malloc_trim(0)`
returns the free pages of its heap and arenas, once per burst of deletions. Where the C library
has no malloc_trim (musl, macOS), nothing happens.

What it cannot return: CPython's small-object allocator (pymalloc) gives an arena of 1 MiB back
only when every object in it is freed. After 500 plugins are deleted the operator holds as many
bytes of objects as before they came (60.6 MB, from `sys._debugmallocstats`), but spread over
twice as many arenas, each pinned by a few objects that were allocated during the burst and
live on; the trim returns 3 to 8 MB of the rest (docs/operations.md, Sizing).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 5.0
"""How long after the last deletion of a burst to trim: one trim per burst, not per object."""


def malloc_trim() -> Callable[[], None] | None:
    """A function returning freed memory to the system; None without glibc's malloc_trim."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def release() -> None:
        # Objects of the deleted plugins that sit in reference cycles wait for the oldest
        # generation's collection, which may not run for a long time; collect them first.
        gc.collect()
        trim(0)

    return release


class MemoryTrim:
    """Trims once, `settle` seconds after the last of a burst of `deleted()` calls: one timer
    thread per burst, which re-arms itself while deletions keep coming."""

    def __init__(self, release: Callable[[], None] | None, settle: float = SETTLE_SECONDS) -> None:
        self._settle = settle
        self._release = release
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None
        self._last_deletion = 0.0

    def deleted(self) -> None:
        """An object was deleted: trim when no other deletion follows within the settle time."""
        if self._release is None:
            return
        with self._guard:
            self._last_deletion = time.monotonic()
            if self._timer is None:
                self._arm(self._settle)

    def _arm(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._guard:
            quiet_for = time.monotonic() - self._last_deletion
            if quiet_for < self._settle:
                self._arm(self._settle - quiet_for)
                return
            self._timer = None
        if self._release is not None:
            self._release()
            logger.debug("returned freed memory to the system after deletions")
