"""Wake-ups of the WasmScheduler daemons: who must run a pass after a watch event.

A pass notes its token before it reads the cluster and then waits for the token to move, so an
event that arrives while the pass runs is never lost: the next wait returns at once. Events that
concern every scheduler (a WasmNodeCache, a node, a WasmScheduler) wake them all; a WasmPlugin
event wakes only the schedulers the plugin names now or named before. With 500 plugins over 10
WasmSchedulers, waking all ten on every plugin status write made ten passes of each write.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable

Token = tuple[int, int]
"""The wake-ups a scheduler has seen: (for everyone, for it alone)."""


class Wakeups:
    """Counters that watch events bump and scheduler passes wait on."""

    POLL_SECONDS = 0.05
    """How often a waiting daemon looks at its token and its stop flag."""
    SETTLE_SECONDS = 0.2
    """After a wake-up, how long to let a burst of events (one write, many watches) gather."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._everyone = 0
        self._own: dict[str, int] = {}
        self._plugin_schedulers: dict[str, frozenset[str]] = {}

    def token(self, scheduler: str) -> Token:
        """What `scheduler` has seen now; hand it to `wait`."""
        with self._guard:
            return self._token(scheduler)

    def _token(self, scheduler: str) -> Token:
        return self._everyone, self._own.get(scheduler, 0)

    def notify(self) -> None:
        """Wake every scheduler."""
        with self._guard:
            self._everyone += 1

    def notify_plugin(self, plugin: str, schedulers: Iterable[str], *, deleted: bool) -> None:
        """Wake the schedulers `plugin` names now and those it named at its last event."""
        now = frozenset(schedulers)
        with self._guard:
            before = self._plugin_schedulers.pop(plugin, frozenset())
            if not deleted:
                self._plugin_schedulers[plugin] = now
            for scheduler in now | before:
                self._own[scheduler] = self._own.get(scheduler, 0) + 1

    def forget(self, scheduler: str) -> None:
        """Drop the counter of a scheduler whose daemon stopped."""
        with self._guard:
            self._own.pop(scheduler, None)

    async def wait(
        self, seen: Token, scheduler: str, timeout: float, stopped: Callable[[], bool]
    ) -> None:
        """Return when `scheduler` was woken since `seen`, after `timeout` s, or when stopped.

        A coroutine: a waiting daemon holds no thread, so the number of WasmSchedulers is not
        bounded by a thread pool (each sync daemon held one of kopf's workers for its life)."""
        deadline = time.monotonic() + timeout
        while self.token(scheduler) == seen and not stopped():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, self.POLL_SECONDS))
        if not stopped():
            await asyncio.sleep(self.SETTLE_SECONDS)
