"""Give memory back to the system whenever the operator has freed a good deal of it.

Deletions are not the only time memory is freed: a WasmScheduler's superseded revision drops
its parsed configurations when the next one is active, a minute after the plugins went, and
kopf's per-object state goes once each object's worker has been idle a while. Measured at 500
plugins (PYTHONMALLOC=malloc), the heap's free bytes kept growing for two minutes after the
deletions, so the trim after a burst (runner/memory_trim.py) came too early for most of it.
This watch looks every `every` seconds and trims when the heap has freed `limit` bytes more
than it held free after its last trim: after any burst, never on a quiet heap.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

logger = logging.getLogger(__name__)

CHECK_SECONDS = 30.0
FREED_LIMIT_BYTES = 16 << 20


class Heap(Protocol):
    def trim(self) -> None: ...
    def free_bytes(self) -> int | None: ...


class FreeMemoryWatch:
    """Trims `heap` when `limit` more bytes are free than after the last trim."""

    def __init__(
        self, heap: Heap, every: float = CHECK_SECONDS, limit: int = FREED_LIMIT_BYTES
    ) -> None:
        self._heap = heap
        self._every = every
        self._limit = limit
        self._floor = heap.free_bytes() or 0
        self._stop = threading.Event()

    def check(self) -> bool:
        """Trim if enough was freed since the last trim; whether it trimmed."""
        free = self._heap.free_bytes()
        if free is None:
            return False
        # Free memory that was reused is not to be counted again when it is freed again.
        self._floor = min(self._floor, free)
        if free - self._floor < self._limit:
            return False
        self._heap.trim()
        self._floor = free
        logger.debug("returned %d MiB of freed memory to the system", free >> 20)
        return True

    def start(self) -> None:
        """Check every `every` seconds in a daemon thread until `stop`."""
        threading.Thread(target=self._run, name="free-memory-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.check()
