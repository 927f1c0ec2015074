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


@dataclass
class Runtime:
    """Shared state of one operator process."""

    settings: OperatorSettings
    api: client.ApiClient
    kubeconfig: Path | None
    validation_cache: ValidationCache
    locks: PluginLocks = field(default_factory=PluginLocks)
