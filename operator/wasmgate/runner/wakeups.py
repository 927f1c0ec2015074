"""Wake-ups of the WasmScheduler daemons: who must run a pass after a watch event.

A pass notes its token before it reads the cluster and then waits for the token to move, so an
event that arrives while the pass runs is never lost: the next wait returns at once. Events that
concern every scheduler (a WasmNodeCache, a node, a WasmScheduler) wake them all; a WasmPlugin
event wakes only the schedulers the plugin names now or named before. With 500 plugins over 10
WasmSchedulers, waking all ten on every plugin status write made ten passes of each write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

Token = tuple[int, int]
"""The wake-ups a scheduler has seen: (for everyone, for it alone)."""


class Wakeups:
    """Counters that watch events bump and scheduler passes wait on."""

    SLICE_SECONDS = 0.5
    """How often a wait looks at its stop flag."""
    SETTLE_SECONDS = 0.2
    """After a wake-up, how long to let a burst of events (one write, many watches) gather."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._everyone = 0
        self._own: dict[str, int] = {}
        self._plugin_schedulers: dict[str, frozenset[str]] = {}

    def token(self, scheduler: str) -> Token:
        """What `scheduler` has seen now; hand it to `wait`."""
        with self._changed:
            return self._token(scheduler)

    def _token(self, scheduler: str) -> Token:
        return self._everyone, self._own.get(scheduler, 0)

    def notify(self) -> None:
        """Wake every scheduler."""
        with self._changed:
            self._everyone += 1
            self._changed.notify_all()

    def notify_plugin(self, plugin: str, schedulers: Iterable[str], *, deleted: bool) -> None:
        """Wake the schedulers `plugin` names now and those it named at its last event."""
        now = frozenset(schedulers)
        with self._changed:
            before = self._plugin_schedulers.pop(plugin, frozenset())
            if not deleted:
                self._plugin_schedulers[plugin] = now
            for scheduler in now | before:
                self._own[scheduler] = self._own.get(scheduler, 0) + 1
            self._changed.notify_all()

    def forget(self, scheduler: str) -> None:
        """Drop the counter of a scheduler whose daemon stopped."""
        with self._changed:
            self._own.pop(scheduler, None)

    def wait(
        self, seen: Token, scheduler: str, timeout: float, stopped: Callable[[], bool]
    ) -> None:
        """Return when `scheduler` was woken since `seen`, after `timeout` s, or when stopped."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._token(scheduler) == seen and not stopped():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(min(remaining, self.SLICE_SECONDS))
        if not stopped():
            time.sleep(self.SETTLE_SECONDS)
