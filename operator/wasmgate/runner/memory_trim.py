"""Give freed memory back to the system after plugins are deleted.

CPython frees the objects of deleted plugins (their index copies, kopf's per-object state, the
pass results; those in reference cycles only at a full collection, which is run first), but
glibc's allocator keeps the freed pages of its heap and arenas for reuse, so
the operator's RSS stays at its high-water mark after a large set of plugins is gone. After a
burst of deletions settles, `malloc_trim(0)` returns those pages. Where the C library has no
malloc_trim (musl, macOS), nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
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
    """Trims once, `settle` seconds after the last of a burst of `deleted()` calls."""

    def __init__(self, release: Callable[[], None] | None, settle: float = SETTLE_SECONDS) -> None:
        self._settle = settle
        self._release = release
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None

    def deleted(self) -> None:
        """An object was deleted: trim when no other deletion follows within the settle time."""
        if self._release is None:
            return
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._settle, self._trim)
            self._timer.daemon = True
            self._timer.start()

    def _trim(self) -> None:
        with self._guard:
            self._timer = None
        if self._release is not None:
            self._release()
            logger.debug("returned freed memory to the system after deletions")
