"""Kopf handlers: the only module that registers with kopf. Each handler is glue.

A WasmPlugin pass reads the object, runs `reconcile.plugin_pass` and writes status, the
stage-inputs annotation and Events. Passes start on create, spec change, operator resume, a
trigger annotation (set when a referenced Secret or a WasmTrustPolicy changes) and a periodic
timer (which re-resolves `pullPolicy: Always` tags). Indexes keep, in memory, the version of
every Secret and the spec of every WasmTrustPolicy, so a pass that changes nothing reads neither
the registry nor a Secret.

Each WasmScheduler has a daemon that runs `reconcile.scheduler_pass` (staging status of its
plugins, then one rollout step) whenever a WasmPlugin, WasmNodeCache, Node or WasmScheduler
changes, and again when the rollout step asks to be called back (while pods roll).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import kopf
import urllib3
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.plugin_json import scheduler_names
from wasmgate.api.wasmplugin import PullPolicy, WasmPluginSpec
from wasmgate.errors import WasmgateError
from wasmgate.metrics import record_rollout
from wasmgate.oci.reference import parse_reference
from wasmgate.reconcile.deps import KubernetesApiUnavailable, NamedPolicy, StageDeps
from wasmgate.reconcile.material import SecretVersion, plugin_secret_refs
from wasmgate.reconcile.pipeline import Outcome
from wasmgate.reconcile.plugin_pass import (
    INPUTS_ANNOTATION,
    plugin_pass,
    recorded_inputs,
    status_changes,
)
from wasmgate.reconcile.scheduler_pass import Snapshot, node_shape, scheduler_pass, write_staging
from wasmgate.reconcile.stages import plugin_stages
from wasmgate.rollout.machine import Step
from wasmgate.runner import cluster
from wasmgate.runner.login import connection_info
from wasmgate.runner.runtime import Runtime
from wasmgate.settings import settings_from_env

PLUGINS = "wasmplugins"
POLICIES = "wasmtrustpolicies"
SCHEDULERS = "wasmschedulers"
NODE_CACHES = "wasmnodecaches"
# Steps a scheduler pass repeats while nothing happens; the others are logged and counted.
QUIET_STEPS = frozenset({Step.IDLE, Step.PROGRESSING, Step.WAITING_FOR_STAGING})
TRIGGER_ANNOTATION = "wasmgate.dev/reconcile-requested"
ALL = "all"
# Read at import: kopf needs the timer interval when the decorator runs (`wasmgate run` exports
# its flags into the environment before importing this module).
RESYNC_SECONDS = settings_from_env().reconcile.resync_seconds

logger = logging.getLogger(__name__)


@kopf.on.login()
def login(memo: Runtime, **_: Any) -> kopf.ConnectionInfo:
    return connection_info(memo.kubeconfig, memo.settings.events_namespace)


# --- indexes --------------------------------------------------------------------------------


@kopf.index("", "v1", "secrets")
def wasmgate_secret_versions(
    namespace: str | None, name: str, uid: str, meta: kopf.Meta, **_: Any
) -> dict[tuple[str, str], str]:
    return {(namespace or "", name): f"{uid}:{meta.get('resourceVersion', '')}"}


@kopf.index(GROUP, VERSION, POLICIES)
def wasmgate_policies(
    name: str, spec: Mapping[str, Any], **_: Any
) -> dict[str, tuple[str, dict[str, Any]]]:
    return {ALL: (name, dict(spec))}


@kopf.index(GROUP, VERSION, POLICIES)
def wasmgate_policy_secrets(name: str, spec: Mapping[str, Any], **_: Any) -> dict[Any, str]:
    keys = spec.get("keys") or []
    refs = [k.get("secretRef", {}) for k in keys] + [spec.get("trustedRootRef") or {}]
    return {(r["namespace"], r["name"]): name for r in refs if "namespace" in r and "name" in r}


@kopf.index(GROUP, VERSION, PLUGINS)
def wasmgate_plugin_secrets(name: str, spec: Mapping[str, Any], **_: Any) -> dict[Any, str]:
    try:
        parsed = WasmPluginSpec.model_validate(spec)
    except ValueError:
        return {}
    refs = plugin_secret_refs(parsed)
    return {(r.namespace, r.name): name for r in refs}


@kopf.index(GROUP, VERSION, PLUGINS)
def wasmgate_plugin_names(name: str, **_: Any) -> dict[str, str]:
    return {ALL: name}


@kopf.index(GROUP, VERSION, SCHEDULERS)
def wasmgate_scheduler_names(name: str, **_: Any) -> dict[str, str]:
    return {ALL: name}


# What scheduler passes read, kept by the watches instead of listed on every pass (four LISTs
# per pass per WasmScheduler were most of the operator's reads). Copies: kopf's bodies are views.
@kopf.index(GROUP, VERSION, SCHEDULERS)
def wasmgate_scheduler_bodies(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: copy.deepcopy(dict(body))}


@kopf.index(GROUP, VERSION, PLUGINS)
def wasmgate_plugin_bodies(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: copy.deepcopy(dict(body))}


@kopf.index(GROUP, VERSION, NODE_CACHES)
def wasmgate_node_cache_bodies(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: copy.deepcopy(dict(body))}


@kopf.index("", "v1", "nodes")
def wasmgate_node_shapes(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: node_shape(body)}


# --- WasmPlugin pipeline --------------------------------------------------------------------


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


SecretVersions = kopf.Index[tuple[str, str], str]
Policies = kopf.Index[str, tuple[str, dict[str, Any]]]
Names = kopf.Index[Any, str]


def _index(kwargs: Mapping[str, Any], name: str) -> Any:
    # kopf passes every index as a keyword argument named after its function; its handler
    # protocols admit extra arguments only through **kwargs.
    return kwargs[name]


def _run_pass(
    memo: Runtime,
    body: kopf.Body,
    kwargs: Mapping[str, Any],
    rerun: Collection[str] = (),
) -> Outcome | None:
    name = str(body.metadata.name)
    versions: SecretVersions = _index(kwargs, "wasmgate_secret_versions")
    policies: Policies = _index(kwargs, "wasmgate_policies")

    def secret_version(namespace: str, secret: str) -> str | None:
        return next(iter(versions.get((namespace, secret), [])), None)

    started = time.perf_counter()
    with memo.locks.hold(name):
        try:
            stored = cluster.read_plugin(memo.api, name)
        except KubernetesApiUnavailable as e:
            delay = memo.settings.reconcile.retry_base_seconds
            raise kopf.TemporaryError(e.message, delay=delay) from e
        if stored is None or stored.get("metadata", {}).get("deletionTimestamp"):
            return None
        outcome = plugin_pass(
            stored,
            raw_policies=list(policies.get(ALL, [])),
            secret_version=secret_version,
            make_deps=lambda named: _deps(memo, named, secret_version),
            make_stages=plugin_stages,
            now=datetime.now(UTC),
            rerun=rerun,
        )
        # Status first: if the annotation were written first and the status write failed, a
        # later pass would take the old conditions for results of the new inputs.
        changes = status_changes(stored.get("status") or {}, outcome.status)
        if changes:
            cluster.write_plugin_status(memo.api, name, changes)
        if outcome.inputs != recorded_inputs(stored):
            inputs = {INPUTS_ANNOTATION: _json(outcome.inputs)}
            cluster.write_plugin_annotations(memo.api, name, inputs)
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    _stage_without_scheduler(memo, stored, kwargs)
    ran = ", ".join(outcome.ran) or "nothing"
    elapsed_ms = (time.perf_counter() - started) * 1000
    phase = outcome.status.get("phase")
    logger.info("WasmPlugin %s: pass ran %s; phase %s; %.0f ms", name, ran, phase, elapsed_ms)
    return outcome


def _stage_without_scheduler(
    memo: Runtime, plugin: Mapping[str, Any], kwargs: Mapping[str, Any]
) -> None:
    """Say so in Staged when none of the plugin's WasmSchedulers exists (no daemon would).

    The scheduler names come from the index, so a plugin whose scheduler exists costs nothing;
    `write_staging` re-reads the plugin under its lock and writes only if it is ready to stage.
    """
    known: Names = _index(kwargs, "wasmgate_scheduler_names")
    if not set(known.get(ALL, [])).intersection(scheduler_names(plugin)):
        write_staging(memo.api, str(plugin["metadata"]["name"]), {}, [], [], memo.locks.hold)


def _json_any(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json(values: Mapping[str, str]) -> str:
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"))


@kopf.on.resume(GROUP, VERSION, PLUGINS, id="reconcile")
@kopf.on.create(GROUP, VERSION, PLUGINS, id="reconcile")
@kopf.on.update(GROUP, VERSION, PLUGINS, id="reconcile-spec", field="spec")
@kopf.on.update(
    GROUP,
    VERSION,
    PLUGINS,
    id="reconcile-trigger",
    field=("metadata", "annotations", TRIGGER_ANNOTATION),
)
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


@kopf.timer(GROUP, VERSION, PLUGINS, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS)
def wasmplugin_resync(body: kopf.Body, spec: kopf.Spec, memo: Runtime, **kwargs: Any) -> None:
    # Temporary failures are retried by the change handler's backoff; the timer only records.
    rerun = ("resolve",) if _moving_tag(spec) else ()
    _run_pass(memo, body, kwargs, rerun)


# --- trust material changes -----------------------------------------------------------------


def _trigger(memo: Runtime, plugins: Collection[str], why: str) -> None:
    for plugin in sorted(plugins):
        try:
            cluster.request_reconcile(memo.api, plugin, TRIGGER_ANNOTATION, why)
        except ApiException as e:
            raise kopf.TemporaryError(f"cannot annotate WasmPlugin {plugin}: {e.status}") from e


@kopf.on.event("", "v1", "secrets")
def secret_changed(
    type: str | None, namespace: str | None, name: str, memo: Runtime, **kwargs: Any
) -> None:
    # type None is the initial listing at start-up: nothing changed, and a restart must not
    # re-verify every plugin.
    if type is None:
        return
    key = (namespace or "", name)
    by_secret: Names = _index(kwargs, "wasmgate_plugin_secrets")
    plugins = set(by_secret.get(key, []))
    if key in _index(kwargs, "wasmgate_policy_secrets"):
        every: Names = _index(kwargs, "wasmgate_plugin_names")
        plugins |= set(every.get(ALL, []))
    _trigger(memo, plugins, f"Secret {namespace}/{name} {type.lower()}")


@kopf.on.event(GROUP, VERSION, POLICIES)
def wasmtrustpolicy_changed(type: str | None, name: str, memo: Runtime, **kwargs: Any) -> None:
    if type is None:
        return
    every: Names = _index(kwargs, "wasmgate_plugin_names")
    _trigger(memo, set(every.get(ALL, [])), f"WasmTrustPolicy {name} {type.lower()}")


# --- WasmScheduler staging and rollout -----------------------------------------------------


SNAPSHOT_ATTEMPTS = 5


def _every(kwargs: Mapping[str, Any], index: str) -> list[dict[str, Any]]:
    """The values of an index, copied from this (daemon) thread while kopf's event loop may
    update it: a copy that meets a change starts again."""
    store = _index(kwargs, index)
    for _attempt in range(SNAPSHOT_ATTEMPTS):
        try:
            return list(store.get(ALL, []))
        except RuntimeError:  # changed size during iteration
            continue
    return list(store.get(ALL, []))


def _snapshot(kwargs: Mapping[str, Any]) -> Snapshot | None:
    """The cluster as the watches hold it; None (list instead) when run without the indexes."""
    names = (
        "wasmgate_scheduler_bodies",
        "wasmgate_plugin_bodies",
        "wasmgate_node_shapes",
        "wasmgate_node_cache_bodies",
    )
    if not all(name in kwargs for name in names):
        return None
    schedulers, plugins, nodes, caches = (_every(kwargs, name) for name in names)
    return Snapshot(schedulers=schedulers, plugins=plugins, nodes=nodes, node_caches=caches)


@kopf.daemon(GROUP, VERSION, SCHEDULERS, id="rollout", cancellation_timeout=30)
def wasmscheduler_rollout(
    name: str, stopped: kopf.DaemonStopped, memo: Runtime, **kwargs: Any
) -> None:
    """Run scheduler passes for one WasmScheduler until it is deleted or the operator stops."""
    settings = memo.settings
    while not stopped:
        seen = memo.wakeups.count
        try:
            result = scheduler_pass(
                memo.api, name, settings.rollout, memo.locks.hold, _snapshot(kwargs)
            )
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as e:
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
            for plugin, event in result.events:
                body = kopf.Body(cast(kopf.RawBody, plugin))
                kopf.event(body, type=event.type, reason=event.reason, message=event.message)
            decision = result.decision
            if decision.step not in QUIET_STEPS:
                record_rollout(decision.step.value)
                logger.info("WasmScheduler %s: %s: %s", name, decision.step, decision.message)
            wait = decision.requeue_after or settings.reconcile.resync_seconds
            if result.staging_failures:
                wait = min(wait, settings.reconcile.retry_base_seconds)
        memo.wakeups.wait(seen, wait, lambda: bool(stopped))


def _wake(memo: Runtime) -> None:
    memo.wakeups.notify()


@kopf.on.event(GROUP, VERSION, PLUGINS)
def wake_on_plugin(memo: Runtime, **_: Any) -> None:
    _wake(memo)


@kopf.on.event(GROUP, VERSION, NODE_CACHES)
def wake_on_node_cache(memo: Runtime, **_: Any) -> None:
    _wake(memo)


@kopf.on.event(GROUP, VERSION, SCHEDULERS)
def wake_on_scheduler(memo: Runtime, **_: Any) -> None:
    _wake(memo)


@kopf.on.event("", "v1", "nodes")
def wake_on_node(type: str | None, name: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    # Kubelets rewrite node status every few seconds; only what decides staging targets
    # (labels, taints, existence) is worth a scheduler pass.
    labels, taints = dict(body.metadata.labels), list(body.spec.get("taints") or [])
    shape = "" if type == "DELETED" else _json_any([labels, taints])
    if memo.node_shapes.get(name) != shape:
        memo.node_shapes[name] = shape
        _wake(memo)


# --- admission ---
# Webhook registrations (owned by the admission package) go below this line.
# The validating webhook (docs/admission.md), served by this process over TLS. The checks are pure
# functions in wasmgate_admission; these handlers only translate. They are registered only when
# `wasmgate run` serves the webhook (not `--no-webhook`): kopf refuses to start with validating
# handlers and no server. Settings are read at import, as RESYNC_SECONDS above.

import asyncio  # noqa: E402
import contextlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import TypeVar  # noqa: E402

from wasmgate_admission import glue  # noqa: E402
from wasmgate_admission.cluster_lookup import ClusterLookup  # noqa: E402
from wasmgate_admission.configuration import (  # noqa: E402
    WASMPLUGIN_HANDLER,
    WASMSCHEDULER_HANDLER,
    WASMTRUSTPOLICY_HANDLER,
)
from wasmgate_admission.indexed_lookup import ALL as EVERY  # noqa: E402
from wasmgate_admission.indexed_lookup import IndexedLookup, review_confirmed  # noqa: E402
from wasmgate_admission.settings import AdmissionSettings  # noqa: E402
from wasmgate_admission.verdict import Verdict  # noqa: E402
from wasmgate_admission.wasmplugin import review_wasmplugin  # noqa: E402
from wasmgate_admission.wasmscheduler import review_wasmscheduler  # noqa: E402
from wasmgate_admission.wasmtrustpolicy import review_wasmtrustpolicy  # noqa: E402

WEBHOOK = AdmissionSettings.from_env()
CERTIFICATE_CHECK_SECONDS = 6 * 3600
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


class _Webhook:
    """The served webhook of this process, once start-up has prepared it."""

    served: glue.Served | None = None
    rotation: asyncio.Task[None] | None = None


def _when_serving(register: Callable[[_Handler], _Handler]) -> Callable[[_Handler], _Handler]:
    """Apply a kopf decorator only when this process serves the webhook."""
    return register if WEBHOOK.enabled else (lambda handler: handler)


def _answer(verdict: Verdict, warnings: list[str]) -> None:
    warnings.extend(verdict.warnings)
    if not verdict.allowed:
        raise kopf.AdmissionError(verdict.message, code=glue.denial_code(verdict))


def _fresh() -> ClusterLookup:
    if _Webhook.served is None:
        raise kopf.AdmissionError("the webhook is still starting; retry", code=503)
    return _Webhook.served.lookup


def _cached(kwargs: Mapping[str, Any]) -> IndexedLookup:
    return IndexedLookup(
        secrets=_index(kwargs, "admission_secrets"),
        schedulers=_index(kwargs, "admission_schedulers"),
        policies=_index(kwargs, "admission_policies"),
        fallback=_fresh(),
        scheduler_plugins=_index(kwargs, "admission_scheduler_plugins"),
    )


@_when_serving(kopf.index("v1", "secrets"))
def admission_secrets(namespace: str | None, name: str, body: Any, **_: Any) -> dict[Any, Any]:
    return {(namespace, name): glue.plain(body.get("data") or {})}


@_when_serving(kopf.index(GROUP, VERSION, "wasmschedulers"))
def admission_schedulers(name: str, **_: Any) -> dict[Any, Any]:
    return {name: True}


@_when_serving(kopf.index(GROUP, VERSION, PLUGINS))
def admission_scheduler_plugins(name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    # Names only, by scheduler: what the per-scheduler plugin limit needs, and small.
    if body.metadata.get("deletionTimestamp"):
        return {}
    return {scheduler: name for scheduler in scheduler_names(body)}


@_when_serving(kopf.index(GROUP, VERSION, POLICIES))
def admission_policies(body: Any, **_: Any) -> dict[Any, Any]:
    return {EVERY: glue.plain(body)}


async def _rotate_forever() -> None:
    while True:
        await asyncio.sleep(CERTIFICATE_CHECK_SECONDS)
        if _Webhook.served is not None:
            _Webhook.served = await asyncio.to_thread(glue.rotate, _Webhook.served)


@_when_serving(kopf.on.startup())
async def admission_startup(settings: kopf.OperatorSettings, memo: Runtime, **_: Any) -> None:
    served = await asyncio.to_thread(glue.prepare, WEBHOOK, memo.api)
    settings.admission.server = glue.webhook_server(served)
    # Our own ValidatingWebhookConfiguration (wasmgate_admission.configuration), not kopf's.
    settings.admission.managed = None
    _Webhook.served = served
    _Webhook.rotation = asyncio.get_running_loop().create_task(_rotate_forever())


@_when_serving(kopf.on.cleanup())
async def admission_cleanup(**_: Any) -> None:
    if _Webhook.rotation is not None:
        _Webhook.rotation.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _Webhook.rotation
    if _Webhook.served is not None:
        glue.release(_Webhook.served)


@_when_serving(
    kopf.on.validate(
        GROUP,
        VERSION,
        PLUGINS,
        id=WASMPLUGIN_HANDLER,
        operations=["CREATE", "UPDATE"],
        ignore_failures=True,
    )
)
async def wasmplugin_admission(*, warnings: list[str], **kwargs: Any) -> None:
    request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
    if glue.spec_unchanged(request):
        return
    verdict = await review_confirmed(review_wasmplugin, request, _cached(kwargs), _fresh())
    _answer(verdict, warnings)


@_when_serving(
    kopf.on.validate(
        GROUP,
        VERSION,
        "wasmschedulers",
        id=WASMSCHEDULER_HANDLER,
        operations=["DELETE"],
        ignore_failures=True,
    )
)
async def wasmscheduler_admission(*, warnings: list[str], **kwargs: Any) -> None:
    request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
    # Deletes are rare and must see plugins created a moment ago: no cache.
    _answer(await asyncio.to_thread(review_wasmscheduler, request, _fresh()), warnings)


@_when_serving(
    kopf.on.validate(
        GROUP,
        VERSION,
        POLICIES,
        id=WASMTRUSTPOLICY_HANDLER,
        operations=["CREATE", "UPDATE"],
        ignore_failures=True,
    )
)
async def wasmtrustpolicy_admission(*, warnings: list[str], **kwargs: Any) -> None:
    request = glue.request(kwargs.get("operation"), kwargs.get("new"), kwargs.get("old"))
    if glue.spec_unchanged(request):
        return
    verdict = await review_confirmed(review_wasmtrustpolicy, request, _cached(kwargs), _fresh())
    _answer(verdict, warnings)
