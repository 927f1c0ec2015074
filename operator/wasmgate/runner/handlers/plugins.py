"""WasmPlugin handlers: one plugin pass per change, resume, trigger and resync.

A pass reads the object, runs `reconcile.plugin_pass` and writes status (with the inputs its
results were computed from) and Events. Passes start on create, spec change, operator resume, a
trigger annotation (set by trust_material.py when a referenced Secret or a WasmTrustPolicy
changes) and periodically, by a daemon per plugin that re-resolves `pullPolicy: Always` tags and
returns when the plugin is deleted (runner/plugin_lives.py says why it is not a kopf timer).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import functools
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import kopf

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmplugin import PullPolicy
from wasmgate.errors import KubernetesApiUnavailable, WasmgateError
from wasmgate.oci.reference import parse_reference
from wasmgate.reconcile.deps import NamedPolicy, StageDeps
from wasmgate.reconcile.material import SecretVersion
from wasmgate.reconcile.pass_staging import with_staging
from wasmgate.reconcile.pipeline import Outcome, PipelineEvent
from wasmgate.reconcile.plugin_pass import plugin_pass, status_changes, with_recorded_inputs
from wasmgate.reconcile.stages import plugin_stages
from wasmgate.rollout.deps import Stale
from wasmgate.runner import cluster
from wasmgate.runner.handlers.indexes import (
    ALL,
    PLUGINS,
    Policies,
    SecretVersions,
    index,
    watched_snapshot,
)
from wasmgate.runner.handlers.no_finalizer import release_finalizer
from wasmgate.runner.plugin_status_writes import write_plugin_status, write_plugin_status_at
from wasmgate.runner.runtime import Runtime
from wasmgate.settings import OperatorSettings

TRIGGER_ANNOTATION = "wasmgate.dev/reconcile-requested"

logger = logging.getLogger(__name__)

# Key Secrets a pass read, reused while the Secret index shows the same version.
SECRET_DATA = cluster.SecretData()


def _deps(
    memo: Runtime,
    policies: Sequence[NamedPolicy],
    secret_version: SecretVersion,
) -> StageDeps:
    settings = memo.settings

    def read_secret(namespace: str, name: str) -> Mapping[str, str]:
        version = secret_version(namespace, name)
        return SECRET_DATA.read(memo.api, namespace, name, version)

    return StageDeps(
        registry=settings.registry,
        trust=settings.trust,
        read_secret=read_secret,
        policies=policies,
        clock=lambda: datetime.now(UTC),
        validation_cache=memo.validation_cache,
        work_dir=settings.work_dir,
    )


def _run_pass(
    memo: Runtime,
    body: kopf.Body,
    kwargs: Mapping[str, Any],
    rerun: Collection[str] = (),
) -> Outcome | None:
    name = str(body.metadata.name)
    versions: SecretVersions = index(kwargs, "wasmgate_secret_versions")
    policies: Policies = index(kwargs, "wasmgate_policies")

    def secret_version(namespace: str, secret: str) -> str | None:
        return next(iter(versions.get((namespace, secret), [])), None)

    watched = watched_snapshot(kwargs)

    def decide(stored: Mapping[str, Any]) -> tuple[Outcome, dict[str, Any], PipelineEvent | None]:
        now = datetime.now(UTC)
        outcome = plugin_pass(
            stored,
            raw_policies=list(policies.get(ALL, [])),
            secret_version=secret_version,
            make_deps=lambda named: _deps(memo, named, secret_version),
            make_stages=plugin_stages,
            now=now,
            rerun=rerun,
        )
        # One write: the results, the inputs they were computed from, and the staging they
        # already imply (reconcile.pass_staging).
        written = with_recorded_inputs(outcome.status, outcome.inputs)
        staged = None
        if watched is not None:
            written, staged = with_staging(stored, written, watched, now)
        return outcome, status_changes(stored.get("status") or {}, written), staged

    started = time.perf_counter()
    with memo.locks.hold(name):
        # The plugin as kopf's watch last showed it: a pass that changes nothing (every resync
        # of a settled plugin) costs no request, and one that does writes once, on condition
        # that nobody wrote since. Only then is it read, and the pass made on what is stored.
        stored = copy.deepcopy(dict(body))
        if stored.get("metadata", {}).get("deletionTimestamp"):
            return None
        outcome, changes, staged = decide(stored)
        if changes:
            version = str(body.metadata.get("resourceVersion", ""))
            answer = write_plugin_status_at(memo.api, name, version, changes)
            if answer is Stale.GONE:
                return None
            if answer is Stale.MOVED_ON:
                fresh = _read(memo, name)
                if fresh is None:
                    return None
                outcome, changes, staged = decide(fresh)
                if changes:
                    write_plugin_status(memo.api, name, changes, cluster.REQUEST_TIMEOUT_SECONDS)
    for event in [*outcome.events, *([staged] if staged is not None else [])]:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    ran = ", ".join(outcome.ran) or "nothing"
    elapsed_ms = (time.perf_counter() - started) * 1000
    phase = outcome.status.get("phase")
    logger.info("WasmPlugin %s: pass ran %s; phase %s; %.0f ms", name, ran, phase, elapsed_ms)
    return outcome


def _read(memo: Runtime, name: str) -> dict[str, Any] | None:
    """The plugin as stored now; None when it is gone or being deleted."""
    try:
        stored = cluster.read_plugin(memo.api, name)
    except KubernetesApiUnavailable as e:
        raise kopf.TemporaryError(
            e.message, delay=memo.settings.reconcile.retry_base_seconds
        ) from e
    if stored is None or stored.get("metadata", {}).get("deletionTimestamp"):
        return None
    return stored


def wasmplugin_reconcile(body: kopf.Body, memo: Runtime, retry: int, **kwargs: Any) -> None:
    outcome = _run_pass(memo, body, kwargs)
    if outcome is not None and outcome.retry is not None:
        error: WasmgateError = outcome.retry
        raise kopf.TemporaryError(
            f"{error.reason}: {error.message}",
            delay=memo.settings.reconcile.retry_delay(retry),
        )


def _moving_tag(spec: Mapping[str, Any]) -> bool:
    """Whether the periodic pass must resolve again: pullPolicy Always on an unpinned tag."""
    source = spec.get("source") or {}
    if source.get("pullPolicy") != PullPolicy.ALWAYS.value or source.get("digest"):
        return False
    try:
        return parse_reference(str(source.get("image", ""))).digest is None
    except WasmgateError:
        return False


async def wasmplugin_resync(uid: str, body: kopf.Body, memo: Runtime, **kwargs: Any) -> None:
    """Every `reconcile.resync_seconds`, a pass (re-resolving a `pullPolicy: Always` tag), until
    the plugin is deleted (runner/plugin_lives.py says why this is not a kopf timer). Temporary
    failures are retried by the change handler's backoff; this pass only records."""
    gone = memo.plugin_lives.of(uid)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), memo.settings.reconcile.resync_seconds)
            if gone.is_set():
                return
            rerun = ("resolve",) if _moving_tag(body.get("spec") or {}) else ()
            # In the plugin passes' threads, with this task's context (as asyncio.to_thread).
            resync = functools.partial(
                contextvars.copy_context().run, _run_pass, memo, body, kwargs, rerun
            )
            await asyncio.get_running_loop().run_in_executor(memo.plugin_passes, resync)
    finally:
        memo.plugin_lives.forget(uid)


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Add the WasmPlugin handlers to `registry`: passes on change, and a resync daemon."""
    # The ids are stored in every plugin's kopf progress annotations: keep them. When one change
    # touches both the spec and the trigger annotation, kopf runs the trigger's handler first.
    reconcile = wasmplugin_reconcile
    kopf.on.update(
        GROUP,
        VERSION,
        PLUGINS,
        id="reconcile-trigger",
        field=("metadata", "annotations", TRIGGER_ANNOTATION),
        registry=registry,
    )(reconcile)
    kopf.on.update(GROUP, VERSION, PLUGINS, id="reconcile-spec", field="spec", registry=registry)(
        reconcile
    )
    kopf.on.create(GROUP, VERSION, PLUGINS, id="reconcile", registry=registry)(reconcile)
    kopf.on.resume(GROUP, VERSION, PLUGINS, id="reconcile", registry=registry)(reconcile)
    # Cancelled at once when the operator stops: it holds nothing a pass has not written.
    kopf.daemon(GROUP, VERSION, PLUGINS, cancellation_timeout=0, registry=registry)(
        wasmplugin_resync
    )
    release_finalizer(registry, wasmplugin_resync)
