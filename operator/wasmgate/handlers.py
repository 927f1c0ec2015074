"""Kopf handlers: the only module that registers with kopf. Each handler is glue.

A WasmPlugin pass reads the object, runs `reconcile.plugin_pass` and writes status, the
stage-inputs annotation and Events. Passes start on create, spec change, operator resume, a
trigger annotation (set when a referenced Secret or a WasmTrustPolicy changes) and a periodic
timer (which re-resolves `pullPolicy: Always` tags). Indexes keep, in memory, the version of
every Secret and the spec of every WasmTrustPolicy, so a pass that changes nothing reads neither
the registry nor a Secret.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmplugin import PullPolicy, WasmPluginSpec
from wasmgate.errors import WasmgateError
from wasmgate.oci.reference import parse_reference
from wasmgate.reconcile.deps import KubernetesApiUnavailable, NamedPolicy, StageDeps
from wasmgate.reconcile.material import plugin_secret_refs
from wasmgate.reconcile.pipeline import Outcome
from wasmgate.reconcile.plugin_pass import (
    INPUTS_ANNOTATION,
    plugin_pass,
    recorded_inputs,
    status_changes,
)
from wasmgate.reconcile.stages import plugin_stages
from wasmgate.runner import cluster
from wasmgate.runner.login import connection_info
from wasmgate.runner.runtime import Runtime
from wasmgate.settings import settings_from_env

PLUGINS = "wasmplugins"
POLICIES = "wasmtrustpolicies"
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


# --- WasmPlugin pipeline --------------------------------------------------------------------


def _deps(memo: Runtime, policies: Sequence[NamedPolicy]) -> StageDeps:
    settings = memo.settings
    return StageDeps(
        registry=settings.registry,
        trust=settings.trust,
        read_secret=lambda namespace, name: cluster.read_secret_data(memo.api, namespace, name),
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
            make_deps=lambda named: _deps(memo, named),
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
    ran = ", ".join(outcome.ran) or "nothing"
    elapsed_ms = (time.perf_counter() - started) * 1000
    phase = outcome.status.get("phase")
    logger.info("WasmPlugin %s: pass ran %s; phase %s; %.0f ms", name, ran, phase, elapsed_ms)
    return outcome


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


# --- admission ---
# Webhook registrations (owned by the admission package) go below this line.
