"""A minimal list-then-watch cache of one kind of object, on a thread.

The agent needs the current set of WasmPlugins, WasmSchedulers and its own Node, and to wake up
when they change; a watch from the list's resourceVersion gives both with one long request.
When the apiserver says the version is too old (410 Gone) the cache lists again; any other
failure waits with backoff and lists again, so a restarted apiserver is survived.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

WATCH_TIMEOUT_SECONDS = 240
WATCH_GRACE_SECONDS = 30
LIST_TIMEOUT_SECONDS = 60
BACKOFF_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
HTTP_GONE = 410

log = logging.getLogger(__name__)

ListFunction = Callable[..., Any]


class Informer:
    """Keeps `objects` (name -> JSON) in step with the apiserver and calls `on_change`."""

    def __init__(
        self,
        what: str,
        api_client: ApiClient,
        list_function: ListFunction,
        on_change: Callable[[], None],
        **list_kwargs: Any,
    ) -> None:
        self.what = what
        self._api = api_client
        self._list = list_function
        self._kwargs = list_kwargs
        self._on_change = on_change
        self._lock = threading.Lock()
        self._objects: dict[str, dict[str, Any]] = {}
        self.synced = threading.Event()
        self._stopping = threading.Event()
        self._watch: watch.Watch | None = None
        self._thread = threading.Thread(target=self._run, name=f"informer-{what}", daemon=True)

    def start(self) -> None:
        """Begin listing and watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the watch (the thread exits at its next event or timeout)."""
        self._stopping.set()
        if self._watch is not None:
            self._watch.stop()  # type: ignore[no-untyped-call]

    def objects(self) -> list[dict[str, Any]]:
        """A snapshot of the cached objects."""
        with self._lock:
            return list(self._objects.values())

    def _as_json(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        serialized: dict[str, Any] = self._api.sanitize_for_serialization(  # type: ignore[no-untyped-call]
            value
        )
        return serialized

    def _relist(self) -> str:
        listed = self._as_json(self._list(_request_timeout=LIST_TIMEOUT_SECONDS, **self._kwargs))
        items = {item["metadata"]["name"]: self._as_json(item) for item in listed["items"]}
        with self._lock:
            self._objects = items
        self.synced.set()
        self._on_change()
        return str(listed["metadata"]["resourceVersion"])

    def _apply(self, event: dict[str, Any]) -> None:
        obj = event["raw_object"]
        name = obj["metadata"]["name"]
        with self._lock:
            if event["type"] == "DELETED":
                self._objects.pop(name, None)
            else:
                self._objects[name] = obj
        self._on_change()

    def _watch_from(self, version: str) -> str | None:
        """Watch until timeout; return the last version, or None when a relist is needed."""
        self._watch = watch.Watch()  # type: ignore[no-untyped-call]
        for event in self._watch.stream(  # type: ignore[no-untyped-call]
            self._list,
            resource_version=version,
            timeout_seconds=WATCH_TIMEOUT_SECONDS,
            # A dead connection (no FIN) must not hang the watch past the server-side timeout.
            _request_timeout=WATCH_TIMEOUT_SECONDS + WATCH_GRACE_SECONDS,
            allow_watch_bookmarks=True,
            **self._kwargs,
        ):
            if self._stopping.is_set():
                return None
            kind = event["type"]
            if kind == "ERROR":
                code = event["raw_object"].get("code")
                log.info("%s: watch error %s, listing again", self.what, code)
                return None
            if kind == "BOOKMARK":
                version = event["raw_object"]["metadata"]["resourceVersion"]
                continue
            self._apply(event)
            version = event["raw_object"]["metadata"]["resourceVersion"]
        return version

    def _run(self) -> None:
        delay = BACKOFF_SECONDS
        version: str | None = None
        while not self._stopping.is_set():
            try:
                if version is None:
                    version = self._relist()
                version = self._watch_from(version)
                delay = BACKOFF_SECONDS
            except ApiException as e:
                version = None
                if e.status != HTTP_GONE:
                    log.warning(
                        "%s: %s %s; retrying in %.0fs", self.what, e.status, e.reason, delay
                    )
                    self._stopping.wait(delay)
                    delay = min(delay * 2, BACKOFF_MAX_SECONDS)
            except Exception as e:
                if self._stopping.is_set():
                    return
                version = None
                log.warning("%s: %s; retrying in %.0fs", self.what, e, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_SECONDS)
