"""What every handler shares while the operator runs: settings, the API client, caches, locks.

Kopf hands this object to every handler as `memo`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client

from wasmgate.runner.idle_threads import IdleExitingThreadPool
from wasmgate.runner.memory_trim import MemoryTrim, malloc_trim
from wasmgate.runner.plugin_lives import PluginLives
from wasmgate.runner.rollout_reads import IdentityChecks, RevisionConfigs
from wasmgate.runner.scheduler_cluster import SchedulerVersions
from wasmgate.runner.wakeups import Wakeups
from wasmgate.settings import OperatorSettings
from wasmgate.validate.cache import ValidationCache

SCHEDULER_PASS_THREADS = 4
"""Scheduler passes that run at once, over all WasmSchedulers (each daemon runs one at a time)."""
PLUGIN_PASS_THREADS = 8
"""Plugin passes that run at once. More only contend for the interpreter with the event loop,
which serves the admission webhook: at 500 plugins, all Ready in 56 s with 8, 62 s with 16."""
DEFAULT_EXECUTOR_THREADS = 2
"""asyncio's default executor (cores + 4 by default, every thread kept): here it only resolves
addresses and runs the webhook's certificate work and WasmScheduler reviews."""
API_CONNECTIONS = PLUGIN_PASS_THREADS + SCHEDULER_PASS_THREADS + DEFAULT_EXECUTOR_THREADS
"""Connections the API client keeps alive: one per thread that may call at once. With urllib3's
default (cores x 5) a burst of 500 plugins logged "Connection pool is full, discarding
connection" a dozen times, each a connection closed and a new TLS handshake after it."""


class PluginLocks:
    """One lock per plugin: the change handler and the periodic pass never run a plugin's
    pipeline at the same time. A lock lives while someone holds or waits for it, so the table
    holds only the plugins being worked on, not every name the process has ever seen."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(name, (threading.Lock(), 0))
            self._locks[name] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                _, users = self._locks[name]
                if users == 1:
                    del self._locks[name]
                else:
                    self._locks[name] = (lock, users - 1)

    def __len__(self) -> int:
        """How many plugins' locks are held or waited for."""
        with self._guard:
            return len(self._locks)


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
    plugin_passes: IdleExitingThreadPool = field(
        default_factory=lambda: IdleExitingThreadPool(
            PLUGIN_PASS_THREADS, thread_name_prefix="plugin-pass"
        )
    )
    """The threads plugin passes run in: kopf's sync handlers and the resync daemons' passes."""
    scheduler_passes: IdleExitingThreadPool = field(
        default_factory=lambda: IdleExitingThreadPool(
            SCHEDULER_PASS_THREADS, thread_name_prefix="scheduler-pass"
        )
    )
    """The threads WasmScheduler daemons run their passes in, apart from the plugin passes'."""
    revision_configs: RevisionConfigs = field(default_factory=RevisionConfigs)
    """Per WasmScheduler, the parsed configurations of the revisions its last pass read."""
    plugin_lives: PluginLives = field(default_factory=PluginLives)
    """Per plugin, whether the watch reported it deleted: its resync daemon then returns."""
    node_shapes: dict[str, str] = field(default_factory=dict)
    """Per node, the labels and taints last seen: node events that change neither are noise."""
