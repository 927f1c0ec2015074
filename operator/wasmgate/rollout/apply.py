"""Carry out rollout decisions against the apiserver, and gather what the next step reads.

The only module of the rollout package that talks to Kubernetes. `rollout_step()` is the entry
point a handler (or a test, or a timer) calls: gather, decide, apply, in that order, so calling
it again after a crash at any line converges on the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.conditions import (
    PluginCondition,
    derive_phase,
    dump_conditions,
    find_condition,
    is_current,
    parse_conditions,
    set_condition,
    set_ready_condition,
)
from wasmgate.api.plugin_json import load_verdict_withdrawn, may_be_loaded, scheduler_names
from wasmgate.api.wasmscheduler import RevisionOutcome, WasmScheduler
from wasmgate.rollout.compare import holds
from wasmgate.rollout.health import observe_deployment, observe_pod
from wasmgate.rollout.machine import Decision, PluginMark, RolloutInputs, decide, step_failed
from wasmgate.rollout.names import (
    CONFIG_KEY,
    deployment_name,
    selector_labels,
)
from wasmgate.rollout.plugins import PluginEntry, entry_from_wasmplugin
from wasmgate.rollout.rbac import SCHEDULER_SERVICE_ACCOUNT, missing_identity_message
from wasmgate.rollout.settings import RolloutConfig

NOT_FOUND = 404
CONFLICT = 409
PluginLock = Callable[[str], AbstractContextManager[None]]
"""Holds a WasmPlugin's lock, so a status write here never races the plugin's own pass."""


def _no_lock(name: str) -> AbstractContextManager[None]:
    return nullcontext()


WASMSCHEDULERS = "wasmschedulers"
WASMPLUGINS = "wasmplugins"


@dataclass(frozen=True)
class Known:
    """What the caller already read, so a step writes (and reads) only what changed."""

    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """WasmPlugins as the caller just read them: a mark one already carries is not written."""


def _delete_config_map(core: client.CoreV1Api, name: str, namespace: str) -> None:
    try:
        core.delete_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise


def as_json(api: client.ApiClient, obj: object) -> dict[str, Any]:
    """A client model as the apiserver's JSON (camelCase, no nulls)."""
    data: dict[str, Any] = api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return data


def _upsert(api: client.ApiClient, obj: Mapping[str, Any], *, exists: bool = False) -> None:
    """Create `obj`, or patch it into shape when it exists (idempotent); `exists` when the
    caller has just read it, so the create that would only answer 409 is not sent."""
    kind = obj["kind"]
    name = obj["metadata"]["name"]
    namespace = obj["metadata"].get("namespace")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    operations: dict[str, tuple[Any, Callable[..., object], Callable[..., object]]] = {
        "Deployment": (
            client.V1Deployment,
            apps.create_namespaced_deployment,
            apps.patch_namespaced_deployment,
        ),
        "ConfigMap": (
            client.V1ConfigMap,
            core.create_namespaced_config_map,
            core.patch_namespaced_config_map,
        ),
    }
    model, create, patch = operations[kind]
    scope = () if namespace is None else (namespace,)
    if exists:
        patch(name, *scope, dict(obj))
        return
    try:
        create(*scope, model.model_validate(dict(obj)))
    except ApiException as e:
        if e.status != CONFLICT:
            raise
        if kind != "ConfigMap":  # immutable: same name means same content
            patch(name, *scope, dict(obj))


class SchedulerIdentityMissing(ApiException):
    """The scheduler ServiceAccount is not installed: retried like any refusal of the apiserver,
    with a reason that names the fix (rollout/rbac.py says why the operator does not create it)."""


def ensure_scheduler_identity(api: client.ApiClient, settings: RolloutConfig) -> None:
    """Raise SchedulerIdentityMissing unless the ServiceAccount scheduler pods run as exists;
    without it the ReplicaSet could create no pod and the rollout would only time out."""
    try:
        client.CoreV1Api(api).read_namespaced_service_account(
            SCHEDULER_SERVICE_ACCOUNT, settings.namespace
        )
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
        raise SchedulerIdentityMissing(
            status=NOT_FOUND, reason=missing_identity_message(settings.namespace)
        ) from e


# Parsed configurations by (namespace, ConfigMap name). The ConfigMaps are immutable and named by
# their content's hash, so a name always means the same content: read once per process.
_CONFIGS: dict[tuple[str, str], dict[str, Any]] = {}
_MAX_CONFIGS = 256


def _read_config(api: client.ApiClient, name: str, namespace: str) -> dict[str, Any] | None:
    cached = _CONFIGS.get((namespace, name))
    if cached is not None:
        return cached
    try:
        config_map = client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status == NOT_FOUND:
            return None
        raise
    loaded: dict[str, Any] = yaml.safe_load((config_map.data or {}).get(CONFIG_KEY, "")) or {}
    if len(_CONFIGS) >= _MAX_CONFIGS:
        _CONFIGS.clear()
    _CONFIGS[(namespace, name)] = loaded
    return loaded


def read_deployment(
    api: client.ApiClient, scheduler: WasmScheduler, settings: RolloutConfig
) -> dict[str, Any] | None:
    """The scheduler's Deployment as the apiserver's JSON, or None."""
    apps = client.AppsV1Api(api)
    try:
        raw = apps.read_namespaced_deployment(deployment_name(scheduler), settings.namespace)
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
        return None
    return as_json(api, raw)


def gather(
    api: client.ApiClient,
    scheduler: WasmScheduler,
    plugins: Sequence[PluginEntry],
    staged: Iterable[str],
    *,
    now: datetime,
    settings: RolloutConfig,
    deployment_body: Mapping[str, Any] | None,
) -> RolloutInputs:
    """What `decide()` needs, read from the apiserver (the Deployment read by the caller)."""
    core = client.CoreV1Api(api)
    deployment = observe_deployment(deployment_body) if deployment_body is not None else None
    revisions = scheduler.status.revisions if scheduler.status else []
    pods = []
    # Pods are judged only while a revision rolls out (health.judge); an idle pass skips them.
    if any(revision.outcome == RevisionOutcome.PROGRESSING for revision in revisions):
        selector = ",".join(f"{k}={v}" for k, v in selector_labels(scheduler).items())
        pods = core.list_namespaced_pod(settings.namespace, label_selector=selector).items
    wanted = {
        revision.config_map_name
        for revision in revisions
        if revision.outcome in (RevisionOutcome.ACTIVE, RevisionOutcome.PROGRESSING)
    }
    configs = {name: _read_config(api, name, settings.namespace) for name in sorted(wanted)}
    return RolloutInputs(
        scheduler=scheduler,
        plugins=list(plugins),
        staged=frozenset(staged),
        revision_configs={name: config for name, config in configs.items() if config is not None},
        deployment=deployment,
        pods=[observe_pod(as_json(api, pod)) for pod in pods],
        now=now,
        settings=settings,
    )


def carries(plugin: Mapping[str, Any], mark: PluginMark) -> bool:
    """Whether the WasmPlugin (JSON) already has the mark for its current generation."""
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions((plugin.get("status") or {}).get("conditions") or [])
    existing = find_condition(conditions, PluginCondition.ROLLED_OUT)
    return (
        existing is not None
        and is_current(existing, generation)
        and (existing.status, existing.reason, existing.message)
        == (mark.status, mark.reason, mark.message)
    )


def _mark_patch(plugin: Mapping[str, Any], mark: PluginMark, now: datetime) -> dict[str, Any]:
    """The status merge patch that puts `mark` on the plugin (JSON)."""
    generation = (plugin.get("metadata") or {}).get("generation")
    conditions = parse_conditions((plugin.get("status") or {}).get("conditions") or [])
    conditions = set_condition(
        conditions,
        type_=PluginCondition.ROLLED_OUT,
        status=mark.status,
        reason=mark.reason,
        message=mark.message,
        observed_generation=generation,
        now=now,
    )
    conditions = set_ready_condition(conditions, generation=generation, now=now)
    return {
        "status": {
            "conditions": dump_conditions(conditions),
            "phase": derive_phase(conditions, generation).value,
        }
    }


def _moved_on(plugin: Mapping[str, Any], mark: PluginMark) -> bool:
    generation = (plugin.get("metadata") or {}).get("generation")
    return mark.generation is not None and generation != mark.generation


def mark_plugin(
    api: client.ApiClient, mark: PluginMark, now: datetime, seen: Mapping[str, Any] | None = None
) -> bool:
    """Set RolledOut (and Ready, phase) on a WasmPlugin; False if it changed meanwhile.

    With `seen` (the plugin as the caller just read it) the write is conditional on its
    resourceVersion, so the common case costs one request; a conflict costs a fresh read."""
    custom = client.CustomObjectsApi(api)
    version = ((seen or {}).get("metadata") or {}).get("resourceVersion")
    if seen is not None and version and not _moved_on(seen, mark):
        if carries(seen, mark):
            return True
        body = {"metadata": {"resourceVersion": version}, **_mark_patch(seen, mark, now)}
        try:
            custom.patch_cluster_custom_object_status(GROUP, VERSION, WASMPLUGINS, mark.name, body)
            return True
        except ApiException as e:
            if e.status == NOT_FOUND:
                return False
            if e.status != CONFLICT:
                raise
    try:
        plugin = cast(
            dict[str, Any], custom.get_cluster_custom_object(GROUP, VERSION, WASMPLUGINS, mark.name)
        )
    except ApiException as e:
        if e.status == NOT_FOUND:
            return False
        raise
    if _moved_on(plugin, mark):
        return False
    if carries(plugin, mark):
        return True
    custom.patch_cluster_custom_object_status(
        GROUP, VERSION, WASMPLUGINS, mark.name, _mark_patch(plugin, mark, now)
    )
    return True


def execute(
    api: client.ApiClient,
    scheduler: WasmScheduler,
    decision: Decision,
    *,
    now: datetime,
    settings: RolloutConfig,
    hold: PluginLock = _no_lock,
    deployment_body: Mapping[str, Any] | None = None,
    known: Known = Known(),
) -> None:
    """Perform a decision: ConfigMap, Deployment, history clean-up, status, plugin marks.

    Compare, then write: a write is skipped when the cluster already shows it (the Deployment
    as the caller read it, the scheduler's stored status, the plugins in `known`)."""
    core = client.CoreV1Api(api)
    if decision.create_config_map is not None:
        _upsert(api, decision.create_config_map)
    wanted = decision.apply_deployment
    if wanted is not None and not (deployment_body is not None and holds(deployment_body, wanted)):
        _upsert(api, wanted, exists=deployment_body is not None)
    for name in decision.delete_config_maps:
        _delete_config_map(core, name, settings.namespace)
    status = decision.status.to_json()
    if scheduler.status is None or scheduler.status.to_json() != status:
        client.CustomObjectsApi(api).patch_cluster_custom_object_status(
            GROUP, VERSION, WASMSCHEDULERS, str(scheduler.metadata.name), {"status": status}
        )
    for mark in decision.plugin_marks:
        seen = known.plugins.get(mark.name)
        if seen is not None and carries(seen, mark):
            continue
        with hold(mark.name):
            mark_plugin(api, mark, now, seen)


def rollout_step(
    api: client.ApiClient,
    scheduler: Mapping[str, Any],
    plugins: Sequence[PluginEntry],
    staged: Iterable[str],
    *,
    now: datetime | None = None,
    settings: RolloutConfig | None = None,
    hold: PluginLock = _no_lock,
    known: Known = Known(),
) -> Decision:
    """One reconcile of a WasmScheduler (its JSON): gather, decide, apply; returns the decision.

    Call it on every WasmScheduler event and again after `decision.requeue_after` seconds.
    """
    settings = settings or RolloutConfig()
    now = now or datetime.now(UTC)
    model = WasmScheduler.model_validate(scheduler)
    ensure_scheduler_identity(api, settings)
    body = read_deployment(api, model, settings)
    inputs = gather(api, model, plugins, staged, now=now, settings=settings, deployment_body=body)
    decision = decide(inputs)
    execute(
        api,
        model,
        decision,
        now=now,
        settings=settings,
        hold=hold,
        deployment_body=body,
        known=known,
    )
    return decision


def report_failure(
    api: client.ApiClient, scheduler: Mapping[str, Any], message: str, now: datetime
) -> None:
    """Say in the WasmScheduler's status that a rollout step failed and is retried."""
    model = WasmScheduler.model_validate(scheduler)
    status = step_failed(model, message, now)
    if model.status is not None and model.status.to_json() == status.to_json():
        return
    client.CustomObjectsApi(api).patch_cluster_custom_object_status(
        GROUP,
        VERSION,
        WASMSCHEDULERS,
        str(model.metadata.name),
        {"status": {"conditions": dump_conditions(status.conditions)}},
    )


def plugins_for_scheduler(
    plugins: Iterable[Mapping[str, Any]], scheduler_object: str
) -> list[PluginEntry]:
    """Entries of the WasmPlugins (JSON) that name `scheduler_object`. One the load gate refuses
    (`api.plugin_json.load_refusal`, the agents' gate too) is held: the machine keeps its live
    version, if any, and rolls nothing new for it. Staging is judged by the rollout machine from
    the staged digests it is given."""
    entries: list[PluginEntry] = []
    for plugin in plugins:
        if scheduler_object not in scheduler_names(plugin):
            continue
        entry = entry_from_wasmplugin(plugin)
        if entry is not None and not may_be_loaded(plugin):
            entry = replace(entry, held=True, distrusted=load_verdict_withdrawn(plugin))
        if entry is not None:
            entries.append(entry)
    return entries


__all__ = [
    "Known",
    "SchedulerIdentityMissing",
    "carries",
    "ensure_scheduler_identity",
    "execute",
    "gather",
    "mark_plugin",
    "plugins_for_scheduler",
    "read_deployment",
    "report_failure",
    "rollout_step",
]
