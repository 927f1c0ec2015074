"""Wake-ups of the WasmScheduler daemons: who must run a pass after a watch event.

A pass notes its token before it reads the cluster and then waits for the token to move, so an
event that arrives while the pass runs is never lost: the next wait returns at once. Events that
concern every scheduler (a WasmNodeCache, a node, a WasmScheduler) wake them all; a WasmPlugin
event wakes only the schedulers the plugin names now or named before. With 500 plugins over 10
WasmSchedulers, waking all ten on every plugin status write made ten passes of each write.

Everything here runs on kopf's event loop (the watch handlers and the daemons are coroutines), so
the counters need no lock and a waiting daemon sleeps on an asyncio.Event until an event moves
its token: an idle scheduler costs the loop one wake-up a second (its stop check), not twenty.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

Token = tuple[int, int]
"""The wake-ups a scheduler has seen: (for everyone, for it alone)."""


class Wakeups:
    """Counters that watch events bump and scheduler passes wait on; event-loop use only."""

    STOP_CHECK_SECONDS = 1.0
    """How often a waiting daemon looks at its stop flag (kopf sets a flag; it sends no event)."""
    SETTLE_SECONDS = 0.2
    """After a wake-up, how long to let a burst of events (one write, many watches) gather."""

    def __init__(self) -> None:
        self._everyone = 0
        self._own: dict[str, int] = {}
        self._plugin_schedulers: dict[str, frozenset[str]] = {}
        self._waiting: dict[str, asyncio.Event] = {}

    def token(self, scheduler: str) -> Token:
        """What `scheduler` has seen now; hand it to `wait`."""
        return self._everyone, self._own.get(scheduler, 0)

    def notify(self) -> None:
        """Wake every scheduler."""
        self._everyone += 1
        for waiting in self._waiting.values():
            waiting.set()

    def notify_plugin(self, plugin: str, schedulers: Iterable[str], *, deleted: bool) -> None:
        """Wake the schedulers `plugin` names now and those it named at its last event."""
        now = frozenset(schedulers)
        before = self._plugin_schedulers.pop(plugin, frozenset())
        if not deleted:
            self._plugin_schedulers[plugin] = now
        for scheduler in now | before:
            self._own[scheduler] = self._own.get(scheduler, 0) + 1
            waiting = self._waiting.get(scheduler)
            if waiting is not None:
                waiting.set()

    def forget(self, scheduler: str) -> None:
        """Drop the counter of a scheduler whose daemon stopped."""
        self._own.pop(scheduler, None)
        self._waiting.pop(scheduler, None)

    def __len__(self) -> int:
        """How many schedulers the counters hold something for (a forgotten one leaves none)."""
        return len(self._own.keys() | self._waiting.keys())

    async def wait(
        self, seen: Token, scheduler: str, timeout: float, stopped: Callable[[], bool]
    ) -> None:
        """Return when `scheduler` was woken since `seen`, after `timeout` s, or when stopped.

        A coroutine: a waiting daemon holds no thread, so the number of WasmSchedulers is not
        bounded by a thread pool (each sync daemon held one of kopf's workers for its life)."""
        deadline = time.monotonic() + timeout
        woken = self._waiting.setdefault(scheduler, asyncio.Event())
        while self.token(scheduler) == seen and not stopped():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # No await between the token check and the wait: an event cannot slip in between.
            woken.clear()
            try:
                async with asyncio.timeout(min(remaining, self.STOP_CHECK_SECONDS)):
                    await woken.wait()
            except TimeoutError:
                pass
        if not stopped():
            await asyncio.sleep(self.SETTLE_SECONDS)
