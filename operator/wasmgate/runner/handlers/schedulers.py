"""WasmScheduler handlers: one daemon per WasmScheduler runs its staging and rollout passes.

Each daemon (a coroutine; its passes run in the runtime's scheduler-pass threads) runs
`reconcile.scheduler_pass` (staging status of its plugins, then one rollout step) whenever a
WasmPlugin, WasmNodeCache, Node or WasmScheduler changes, and again when the rollout step asks
to be called back (while pods roll). The `wake_on_*` event handlers only bump the wake-up
counters the daemons wait on (runner/wakeups.py); they are coroutines, run on kopf's event loop
rather than queued in its thread pool behind the pipeline passes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

import kopf
import urllib3
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.plugin_json import scheduler_names
from wasmgate.errors import KubernetesApiUnavailable
from wasmgate.metrics import forget_plugin, record_rollout, set_staging_states
from wasmgate.reconcile.scheduler_deps import Snapshot
from wasmgate.reconcile.scheduler_pass import PassResult, scheduler_pass
from wasmgate.rollout.decision import Step
from wasmgate.runner.handlers.indexes import (
    ALL,
    NODE_CACHES,
    PLUGINS,
    SCHEDULERS,
    Names,
    watched_snapshot,
)
from wasmgate.runner.runtime import Runtime
from wasmgate.runner.scheduler_cluster import KubeSchedulerCluster

# Steps a scheduler pass repeats while nothing happens: logged when entered, not counted. The
# others are logged and counted every time.
QUIET_STEPS = frozenset(
    {Step.IDLE, Step.PROGRESSING, Step.WAITING_FOR_STAGING, Step.WAITING_FOR_PLUGINS}
)
WAKE_UP_PREFIX = "wake_on_"
"""How the ids of the wake-up handlers start (the CLI quiets their success lines)."""

logger = logging.getLogger(__name__)


async def wasmscheduler_rollout(
    name: str, stopped: kopf.DaemonStopped, memo: Runtime, **kwargs: Any
) -> None:
    """Run scheduler passes for one WasmScheduler until it is deleted or the operator stops.

    The daemon is a coroutine that runs each pass in a scheduler-pass thread and waits between
    passes on the event loop, so it holds a thread only while a pass runs: with one thread per
    daemon for its life, as many WasmSchedulers as kopf has workers left no thread for anything
    else.
    The watch snapshot is taken on the event loop, where kopf updates its indexes."""
    last_pass = LastPass()
    try:
        await _run_passes(name, stopped, memo, kwargs, last_pass)
    finally:
        # Deleted (kopf stops the daemon of a deleted scheduler, cancelling it if a pass is
        # running), or the operator stops.
        last_pass.then(lambda: _forget_scheduler(memo, name))


class LastPass:
    """The scheduler pass a daemon started last, so that what the daemon does on its way out
    waits for it.

    kopf cancels the daemon of a deleted WasmScheduler, often while its pass runs; the thread
    cannot be stopped, and at its end it keeps what it read (the revisions' configurations, the
    scheduler's resourceVersion) for the next pass. Forgotten at the cancellation, all that came
    back afterwards and stayed for the operator's life: 50 parsed plugin entries of one deleted
    scheduler out of ten, after a burst of 500 plugins."""

    def __init__(self) -> None:
        self._future: asyncio.Future[Any] | None = None

    async def run(self, future: asyncio.Future[PassResult | None]) -> PassResult | None:
        """Await a pass; a cancelled daemon stops waiting, the pass runs on to its end."""
        self._future = future
        return await asyncio.shield(future)

    def then(self, action: Callable[[], None]) -> None:
        """Run `action` now, or when the last pass ends if it still runs."""
        future = self._future
        if future is None or future.done():
            action()
            return

        def after(done: asyncio.Future[Any]) -> None:
            if not done.cancelled():
                done.exception()  # retrieved: the daemon that would log it is gone with its object
            action()

        future.add_done_callback(after)


async def _run_passes(
    name: str,
    stopped: kopf.DaemonStopped,
    memo: Runtime,
    kwargs: Mapping[str, Any],
    last_pass: LastPass,
) -> None:
    settings = memo.settings
    last_step: Step | None = None
    while not stopped:
        seen = memo.wakeups.token(name)
        snapshot = watched_snapshot(kwargs)
        try:
            result = await last_pass.run(
                asyncio.get_running_loop().run_in_executor(
                    memo.scheduler_passes, _scheduler_pass, memo, name, snapshot
                )
            )
        except (KubernetesApiUnavailable, ApiException, OSError, urllib3.exceptions.HTTPError) as e:
            # The apiserver is away (urllib3 gives up on a refused connection with its own
            # MaxRetryError, not an OSError) or refused one call: the next pass starts afresh.
            logger.warning("WasmScheduler %s: pass failed, retrying: %s", name, e)
            wait = settings.reconcile.retry_base_seconds
        except Exception:
            # Anything else is our bug; the pass wrote it into the scheduler's conditions. Left to
            # kopf, the daemon would stop and come back only after its 60 s backoff.
            logger.exception("WasmScheduler %s: pass failed, retrying", name)
            wait = settings.reconcile.retry_base_seconds
        else:
            if result is None:
                return
            _record_staging(result.staging_states, kwargs)
            for plugin, event in result.events:
                body = kopf.Body(cast(kopf.RawBody, plugin))
                kopf.event(body, type=event.type, reason=event.reason, message=event.message)
            decision = result.decision
            if decision.step not in QUIET_STEPS:
                record_rollout(decision.step.value)
            # A quiet step is logged when the scheduler enters it, not on every pass.
            if decision.step not in QUIET_STEPS or decision.step != last_step:
                logger.info("WasmScheduler %s: %s: %s", name, decision.step, decision.message)
            last_step = decision.step
            wait = decision.requeue_after or settings.reconcile.resync_seconds
            if result.staging_failures:
                wait = min(wait, settings.reconcile.retry_base_seconds)
        await memo.wakeups.wait(seen, name, wait, lambda: bool(stopped))


def _scheduler_pass(memo: Runtime, name: str, snapshot: Snapshot | None) -> PassResult | None:
    """One pass over the WasmScheduler `name` (blocking: run in a worker thread)."""
    watched = {} if snapshot is None else {_name(s): s for s in snapshot.schedulers}
    cluster = KubeSchedulerCluster(
        memo.api,
        memo.identities,
        memo.scheduler_versions,
        watched,
        memo.revision_configs.last_read(name),
    )
    result = scheduler_pass(cluster, name, memo.settings.rollout, memo.locks.hold, snapshot)
    memo.revision_configs.keep(name, cluster.configs_read)
    return result


def _record_staging(states: Mapping[str, Mapping[str, int]], kwargs: Mapping[str, Any]) -> None:
    """Record the staging metrics of the plugins the watch still holds. On the event loop, no
    deletion interleaves: one reported since the pass listed its plugins dropped the plugin
    from the index, and its series with it (`wake_on_plugin`)."""
    names: Names | None = kwargs.get("wasmgate_plugin_names")
    live = None if names is None else set(names.get(ALL, ()))
    for plugin, counts in states.items():
        if live is None or plugin in live:
            set_staging_states(plugin, counts)


def _forget_scheduler(memo: Runtime, name: str) -> None:
    """Drop what the process kept for a WasmScheduler that is gone."""
    memo.wakeups.forget(name)
    memo.revision_configs.forget(name)
    memo.scheduler_versions.pop(name, None)


def _name(body: Mapping[str, Any]) -> str:
    return str(body.get("metadata", {}).get("name", ""))


def _wake(memo: Runtime) -> None:
    memo.wakeups.notify()


async def wake_on_plugin(
    type: str | None, name: str, body: kopf.Body, memo: Runtime, **_: Any
) -> None:
    deleted = type == "DELETED"
    if deleted:
        forget_plugin(name)
        memo.plugin_lives.ended(str(body.metadata.uid))
        memo.memory_trim.deleted()
    memo.wakeups.notify_plugin(name, scheduler_names(body), deleted=deleted)


async def wake_on_node_cache(memo: Runtime, **_: Any) -> None:
    _wake(memo)


async def wake_on_scheduler(memo: Runtime, **_: Any) -> None:
    _wake(memo)


async def wake_on_node(
    type: str | None, name: str, body: kopf.Body, memo: Runtime, **_: Any
) -> None:
    # Kubelets rewrite node status every few seconds; only what decides staging targets
    # (labels, taints, existence) is worth a scheduler pass.
    labels, taints = dict(body.metadata.labels), list(body.spec.get("taints") or [])
    shape = "" if type == "DELETED" else _json_any([labels, taints])
    if memo.node_shapes.get(name) != shape:
        if shape:
            memo.node_shapes[name] = shape
        else:
            memo.node_shapes.pop(name, None)
        _wake(memo)


def _json_any(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def register(registry: kopf.OperatorRegistry) -> None:
    """Add the daemon and its wake-up handlers to `registry`; they read settings from `memo`."""
    # "rollout" is stored in every WasmScheduler's kopf progress annotations: keep it.
    kopf.daemon(
        GROUP, VERSION, SCHEDULERS, id="rollout", cancellation_timeout=30, registry=registry
    )(wasmscheduler_rollout)
    kopf.on.event(GROUP, VERSION, PLUGINS, registry=registry)(wake_on_plugin)
    kopf.on.event(GROUP, VERSION, NODE_CACHES, registry=registry)(wake_on_node_cache)
    kopf.on.event(GROUP, VERSION, SCHEDULERS, registry=registry)(wake_on_scheduler)
    kopf.on.event("", "v1", "nodes", registry=registry)(wake_on_node)
