"""The node agent: keep this node's store equal to what its verified plugins need, and say so.

One loop owns all decisions and all writes to the API: it wakes on any watched change, a pull
finishing, or the resync timer; computes the wanted blobs; starts pulls (deduplicated by digest,
bounded by a thread pool); collects blobs unreferenced for the grace period; and patches the
node's WasmNodeCache when the report changed. Pulls only touch the store and their own ledger
entry, so a slow registry never blocks reporting.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from wasmgate import metrics
from wasmgate.agent.informer import Informer
from wasmgate.agent.pull import pull_blob
from wasmgate.agent.report import CacheWriter, EntryState, build_status
from wasmgate.agent.settings import AgentSettings
from wasmgate.agent.store import BlobStore
from wasmgate.agent.wanted import PullSource, Readings, pinned_blobs, wanted_blobs
from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.refs import SecretRef
from wasmgate.api.wasmnodecache import CacheState
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.api.wasmscheduler import WASMSCHEDULER
from wasmgate.errors import InvalidSpec, WasmgateError
from wasmgate.oci import Credentials, credentials_from_secret_data

SYNC_TIMEOUT_SECONDS = 60.0
COALESCE_SECONDS = 0.25
"""After a wake-up, changes that arrive this soon join the same reconcile: applying many
plugins writes each one's status several times, and every write wakes every agent."""
log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class RequestCounter:
    """Counts every request the Kubernetes client sends (the benchmark's API cost)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.count = 0
        rest = api_client.rest_client
        original = rest.request

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)  # type: ignore[no-untyped-call]

        setattr(rest, "request", counted)  # noqa: B010 - mypy refuses assigning to a method


class Agent:
    """One node's agent; `run()` blocks until `stop()`."""

    def __init__(self, settings: AgentSettings, api_client: client.ApiClient) -> None:
        self.settings = settings
        self._api = api_client
        self._requests = RequestCounter(api_client)
        self.store = BlobStore(settings.store, settings.capacity_bytes, settings.gc_grace_seconds)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._ledger: dict[str, EntryState] = {}
        self._in_flight: set[str] = set()
        self._verified_at: dict[str, datetime] = {}
        self._refused: dict[str, str] = {}
        self._pulls = 0
        self._readings = Readings()
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="pull")
        self._writer = CacheWriter(api_client, settings.node)
        custom = client.CustomObjectsApi(api_client)
        self._plugins = Informer(
            WASMPLUGIN.plural, api_client, custom.list_cluster_custom_object, self._wake.set,
            group=GROUP, version=VERSION, plural=WASMPLUGIN.plural,
        )  # fmt: skip
        self._schedulers = Informer(
            WASMSCHEDULER.plural, api_client, custom.list_cluster_custom_object, self._wake.set,
            group=GROUP, version=VERSION, plural=WASMSCHEDULER.plural,
        )  # fmt: skip
        self._node = Informer(
            f"node {settings.node}", api_client, client.CoreV1Api(api_client).list_node,
            self._wake.set, field_selector=f"metadata.name={settings.node}",
        )  # fmt: skip

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> None:
        """Check the store, start the watches, reconcile until stopped."""
        scan = self.store.scan()
        moment = _now()
        self._verified_at = dict.fromkeys(scan.verified, moment)
        log.info(
            "store %s: %d blobs verified, %d corrupt removed %s, %d partial removed",
            self.store.directory, len(scan.verified), len(scan.removed_corrupt),
            scan.removed_corrupt, len(scan.removed_partial),
        )  # fmt: skip
        informers = (self._plugins, self._schedulers, self._node)
        for informer in informers:
            informer.start()
        deadline = time.monotonic() + SYNC_TIMEOUT_SECONDS
        for informer in informers:
            if not informer.synced.wait(max(0.0, deadline - time.monotonic())):
                log.warning("%s: not listed after %.0fs, still trying", informer.what,
                            SYNC_TIMEOUT_SECONDS)  # fmt: skip
        while not self._stopping.is_set():
            if self._wake.wait(self.settings.resync_seconds):
                self._stopping.wait(COALESCE_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.reconcile()
            except Exception:
                log.exception("reconcile failed; retrying at the next change or resync")
        for informer in informers:
            informer.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        """Ask `run()` to return."""
        self._stopping.set()
        self._wake.set()

    # -- one reconcile ---------------------------------------------------------------------

    def reconcile(self) -> None:
        """Compute wanted blobs, start pulls, collect garbage, write the report."""
        nodes = self._node.objects()
        if not nodes:
            log.info("node %s does not exist (yet); nothing to report", self.settings.node)
            return
        node = nodes[0]
        schedulers = self._schedulers.objects()
        wanted, refused = wanted_blobs(self._plugins.objects(), schedulers, node, self._readings)
        pinned = pinned_blobs(schedulers, node, self._readings)
        self._readings.next_round()
        if refused != self._refused:
            for name, why in sorted(refused.items()):
                log.info("plugin %s is not staged: %s", name, why)
            self._refused = refused
        self._drop_changed(set(wanted) | set(pinned))
        with self._lock:
            self._start_pulls(wanted)
            held = self._hold(pinned, wanted)
            for digest in list(self._ledger):
                if digest not in wanted and digest not in self._in_flight and digest not in held:
                    del self._ledger[digest]
            busy = set(self._in_flight)
        if all(i.synced.is_set() for i in (self._plugins, self._schedulers, self._node)):
            # A blob a live scheduler revision names is never collected (issue: a registry
            # outage made plugins unloadable, and the agents collected what schedulers ran).
            for digest in self.store.collect(set(wanted) | set(pinned), busy):
                log.info("collected %s: no plugin referenced it for %.0fs", digest,
                         self.settings.gc_grace_seconds)  # fmt: skip
        self._report(node["metadata"]["uid"])

    def _drop_changed(self, needed: set[str]) -> None:
        """Remove needed blobs whose file no longer hashes to its name (changed on disk after it
        was verified) and forget their entry, so this reconcile pulls them again."""
        with self._lock:
            present = {d for d in needed if d not in self._in_flight and self.store.has(d)}
        for digest in sorted(present):
            if not self.store.intact(digest):
                log.warning("%s changed on disk after it was verified; pulling it again", digest)
                with self._lock:
                    self._ledger.pop(digest, None)
                    self._verified_at.pop(digest, None)

    def _hold(self, pinned: dict[str, str], wanted: dict[str, PullSource]) -> set[str]:
        """Report the stored blobs that only a live revision keeps; the digests held."""
        held: set[str] = set()
        for digest, label in pinned.items():
            if digest in wanted:
                entry = self._ledger.get(digest)
                if entry is not None and entry.held_for is not None:
                    self._ledger[digest] = replace(entry, held_for=None)
                continue
            if not self.store.has(digest):
                continue
            held.add(digest)
            entry = self._ledger.get(digest)
            if entry is None or entry.state is not CacheState.READY or entry.held_for != label:
                size = self.store.path_for(digest).stat().st_size
                verified = self._verified_at.get(digest, _now())
                self._ledger[digest] = EntryState(
                    CacheState.READY, _now(), size=size, verified_at=verified, held_for=label
                )
        return held

    def _start_pulls(self, wanted: dict[str, PullSource]) -> None:
        moment = time.monotonic()
        for digest, source in wanted.items():
            entry = self._ledger.get(digest)
            if digest in self._in_flight:
                continue
            if self.store.has(digest):
                if entry is None or entry.state is not CacheState.READY:
                    size = self.store.path_for(digest).stat().st_size
                    verified = self._verified_at.get(digest, _now())
                    self._ledger[digest] = EntryState(
                        CacheState.READY, _now(), size=size, verified_at=verified
                    )
                continue
            if entry is not None and entry.state is CacheState.FAILED and moment < entry.retry_at:
                continue
            self._in_flight.add(digest)
            # A failed entry stays visible (with its reason) while its retry runs.
            if entry is None or entry.state is not CacheState.FAILED:
                self._ledger[digest] = EntryState(CacheState.PULLING, _now())
            self._pool.submit(self._pull, source)

    def _pull(self, source: PullSource) -> None:
        digest = source.layer_digest
        log.info("pulling %s for plugin %s from %s", digest, source.plugin, source.image)
        try:
            size = pull_blob(source, self.store, self.settings.registry, self._credentials)
        except WasmgateError as e:
            self._failed(digest, e.reason, e.message)
        except Exception as e:
            log.exception("pull of %s failed unexpectedly", digest)
            self._failed(digest, "StagingFailed", f"{type(e).__name__}: {e}")
        else:
            moment = _now()
            with self._lock:
                self._pulls += 1
                self._verified_at[digest] = moment
                self._ledger[digest] = EntryState(
                    CacheState.READY, moment, size=size, verified_at=moment
                )
            log.info("stored %s (%d bytes)", digest, size)
        finally:
            with self._lock:
                self._in_flight.discard(digest)
            self._wake.set()

    def _failed(self, digest: str, reason: str, message: str) -> None:
        log.warning("pull of %s failed: %s: %s", digest, reason, message)
        with self._lock:
            previous = self._ledger.get(digest)
            failures = (previous.failures if previous else 0) + 1
            delay = min(
                self.settings.retry_seconds * 2 ** (failures - 1), self.settings.retry_max_seconds
            )
            since = (
                previous.since
                if previous is not None and previous.state is CacheState.FAILED
                else _now()
            )
            self._ledger[digest] = EntryState(
                CacheState.FAILED,
                since,
                reason=reason,
                last_error=message,
                failures=failures,
                retry_at=time.monotonic() + delay,
            )

    def _credentials(self, ref: SecretRef) -> Credentials:
        if ref.namespace != self.settings.secret_namespace:
            raise InvalidSpec(
                f"spec.source.pullSecretRef: Secret {ref.namespace}/{ref.name} is outside "
                f"{self.settings.secret_namespace}, the only namespace node agents may read "
                "pull secrets from; copy the Secret there"
            )
        # The raw JSON keeps the base64 values the dockerconfigjson parser expects.
        response = client.CoreV1Api(self._api).read_namespaced_secret(
            ref.name, ref.namespace, _preload_content=False
        )
        raw: Any = response
        data: dict[str, str] = json.loads(raw.data).get("data") or {}
        return credentials_from_secret_data(data, source=f"Secret {ref.namespace}/{ref.name}")

    def _report(self, node_uid: str) -> None:
        with self._lock:
            status = build_status(
                self._ledger, self.store.used_bytes(), self.settings.capacity_bytes
            )
            states = Counter(entry.state.value for entry in self._ledger.values())
        metrics.set_node_cache_states({state.value: states[state.value] for state in CacheState})
        if self._writer.write(node_uid, status):
            log.info("reported %s ready", status["summary"])
        self._write_stats()

    def _write_stats(self) -> None:
        path = self.settings.stats_file
        if path is None:
            return
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"apiRequests": self._requests.count, "pulls": self._pulls})
        )
        temporary.replace(path)
