"""What every handler shares while the operator runs: settings, the API client, caches, locks.

Kopf hands this object to every handler as `memo`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client

from wasmgate.runner.memory_trim import MemoryTrim, malloc_trim
from wasmgate.runner.rollout_reads import IdentityChecks
from wasmgate.runner.scheduler_cluster import SchedulerVersions
from wasmgate.settings import OperatorSettings
from wasmgate.validate.cache import ValidationCache


class PluginLocks:
    """One lock per plugin: the change handler and the periodic pass never run a plugin's
    pipeline at the same time."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            yield


class Wakeups:
    """A counter that watch events bump and scheduler passes wait on.

    A pass notes the count before it reads the cluster and then waits for it to move, so an
    event that arrives while the pass runs is never lost: the next wait returns at once.
    """

    SLICE_SECONDS = 0.5
    """How often a wait looks at its stop flag."""
    SETTLE_SECONDS = 0.2
    """After a wake-up, how long to let a burst of events (one write, many watches) gather."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        with self._changed:
            return self._count

    def notify(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float, stopped: Callable[[], bool]) -> None:
        """Return when the count moved past `seen`, after `timeout` seconds, or when stopped."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._count == seen and not stopped():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(min(remaining, self.SLICE_SECONDS))
        if not stopped():
            time.sleep(self.SETTLE_SECONDS)


@dataclass
class Runtime:
    """Shared state of one operator process."""

    settings: OperatorSettings
    api: client.ApiClient
    kubeconfig: Path | None
    validation_cache: ValidationCache
    locks: PluginLocks = field(default_factory=PluginLocks)
    wakeups: Wakeups = field(default_factory=Wakeups)
    memory_trim: MemoryTrim = field(default_factory=lambda: MemoryTrim(malloc_trim()))
    """Returns freed memory to the system after a burst of plugin deletions."""
    identities: IdentityChecks = field(default_factory=IdentityChecks)
    scheduler_versions: SchedulerVersions = field(default_factory=dict)
    """Per WasmScheduler, the resourceVersion this process last wrote or read."""
    """When each namespace's scheduler ServiceAccount was last seen by a scheduler pass."""
    node_shapes: dict[str, str] = field(default_factory=dict)
    """Per node, the labels and taints last seen: node events that change neither are noise."""
