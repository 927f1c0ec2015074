"""Give freed memory back to the system after plugins are deleted, as far as it can be.

A full garbage collection frees the deleted plugins' objects that sit in reference cycles (the
oldest generation may otherwise not be collected for a long time), and glibc's `malloc_trim(0)`
returns the free pages of its heap and arenas, once per burst of deletions. Where the C library
has no malloc_trim (musl, macOS), nothing happens.

Under CPython's own small-object allocator (pymalloc) this returns little: pymalloc gives an
arena of 1 MiB back only when every object in it is freed, and after 500 plugins were deleted
each arena the burst added was pinned by a few objects that live on (the trim returned 3 to 8 MB).
So the image runs Python with `PYTHONMALLOC=malloc`: objects live in glibc's heap, where the trim
returns every whole free page. Memory freed after a burst's first trim (superseded revisions,
kopf's idle per-object state) is returned by its follow-ups; memory freed without deletions, by
runner/free_memory_watch.py.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from wasmgate.rollout.config import forget_rendered
from wasmgate.runner import glibc_heap
from wasmgate.runner.url_caches import forget_parsed_urls

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 5.0
"""How long after the last deletion of a burst to trim: one trim per burst, not per object."""
FOLLOW_UP_SECONDS = 30.0
FOLLOW_UPS = 4
"""After a burst's trim, collect and trim again this many times, this far apart: at 500 plugins
the heap kept freeing for two minutes after the deletions (kopf's per-object workers end once
idle, a WasmScheduler's superseded revision goes when the next is active), much of it garbage
in reference cycles that only a full collection frees."""


def malloc_trim() -> Callable[[], None] | None:
    """A function returning freed memory to the system; None without glibc's malloc_trim."""
    heap = glibc_heap.load()
    if heap is None:
        return None

    def release() -> None:
        # Most kept renderings name plugins and WasmSchedulers that are gone now.
        forget_rendered()
        # So are the request URLs yarl keeps, scattered over the pages the burst added.
        forget_parsed_urls()
        # Objects of the deleted plugins that sit in reference cycles wait for the oldest
        # generation's collection, which may not run for a long time; collect them first.
        gc.collect()
        heap.trim()

    return release


class MemoryTrim:
    """Trims `settle` seconds after the last of a burst of `deleted()` calls, then `follow_ups`
    times more, `follow_up` seconds apart: one timer thread at a time, which re-arms itself
    while deletions keep coming and for each follow-up."""

    def __init__(
        self,
        release: Callable[[], None] | None,
        settle: float = SETTLE_SECONDS,
        follow_up: float = FOLLOW_UP_SECONDS,
        follow_ups: int = FOLLOW_UPS,
    ) -> None:
        self._settle = settle
        self._follow_up = follow_up
        self._follow_ups = follow_ups
        self._release = release
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None
        self._last_deletion = 0.0
        self._follow_ups_left = 0

    def deleted(self) -> None:
        """An object was deleted: trim when no other deletion follows within the settle time."""
        if self._release is None:
            return
        with self._guard:
            self._last_deletion = time.monotonic()
            self._follow_ups_left = self._follow_ups
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
            if self._follow_ups_left > 0:
                self._follow_ups_left -= 1
                self._arm(self._follow_up)
            else:
                self._timer = None
        if self._release is not None:
            self._release()
            logger.debug("returned freed memory to the system after deletions")
