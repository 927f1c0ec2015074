"""Give memory back to the system whenever the operator has freed a good deal of it.

Deletions are not the only time memory is freed: the transient objects of a burst of new plugins
(their reviews, watch events and passes) are freed once they are Ready, and a WasmScheduler's
superseded revision drops its parsed configurations once the next is active. The trims after a
burst of deletions (runner/memory_trim.py) do not see these. This watch looks every `every`
seconds and trims glibc's heap when it holds `limit` bytes more free than after its last trim:
after any burst, never on a quiet heap. It runs no garbage collection (the deletion trims do).
"""

from __future__ import annotations

import logging
import threading
import time
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
        logger.debug("trimmed the heap: %d MiB free in it", free >> 20)
        return True

    def start(self) -> None:
        """Check every `every` seconds in a daemon thread, for the life of the process."""
        threading.Thread(target=self._run, name="free-memory-watch", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self._every)
            self.check()
