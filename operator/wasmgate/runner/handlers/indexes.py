"""The operator's kopf indexes, and how a handler reads one.

Indexes keep, in memory, the version of every Secret, the spec of every WasmTrustPolicy and the
bodies scheduler passes read, so a pass that changes nothing reads neither the registry nor a
Secret, and a scheduler pass lists nothing. Their function names are their ids and the names of
the keyword arguments kopf passes every handler: renaming one breaks its readers. They are
coroutines: kopf runs a plain function in its thread pool, and every WasmPlugin event ran each
plugin index there, queued behind the pipeline passes; each is a few dictionary operations,
cheaper on the event loop than the hand-off to a thread.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import kopf

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmnodecache import WASMNODECACHE
from wasmgate.api.wasmplugin import WASMPLUGIN, WasmPluginSpec
from wasmgate.api.wasmscheduler import WASMSCHEDULER
from wasmgate.api.wasmtrustpolicy import WASMTRUSTPOLICY
from wasmgate.reconcile.material import plugin_secret_refs
from wasmgate.reconcile.scheduler_deps import Snapshot, node_shape

PLUGINS = WASMPLUGIN.plural
POLICIES = WASMTRUSTPOLICY.plural
SCHEDULERS = WASMSCHEDULER.plural
NODE_CACHES = WASMNODECACHE.plural
ALL = "all"
"""The one key of indexes that keep every object of a kind."""
SNAPSHOT_ATTEMPTS = 5

SecretVersions = kopf.Index[tuple[str, str], str]
Policies = kopf.Index[str, tuple[str, dict[str, Any]]]
Names = kopf.Index[Any, str]


def index(kwargs: Mapping[str, Any], name: str) -> Any:
    """The index `name` among a handler's keyword arguments."""
    # kopf passes every index as a keyword argument named after its function; its handler
    # protocols admit extra arguments only through **kwargs.
    return kwargs[name]


async def wasmgate_secret_versions(
    namespace: str | None, name: str, uid: str, meta: kopf.Meta, **_: Any
) -> dict[tuple[str, str], str]:
    return {(namespace or "", name): f"{uid}:{meta.get('resourceVersion', '')}"}


async def wasmgate_policies(
    name: str, spec: Mapping[str, Any], **_: Any
) -> dict[str, tuple[str, dict[str, Any]]]:
    return {ALL: (name, dict(spec))}


async def wasmgate_policy_secrets(name: str, spec: Mapping[str, Any], **_: Any) -> dict[Any, str]:
    keys = spec.get("keys") or []
    refs = [k.get("secretRef", {}) for k in keys] + [spec.get("trustedRootRef") or {}]
    return {(r["namespace"], r["name"]): name for r in refs if "namespace" in r and "name" in r}


async def wasmgate_plugin_secrets(name: str, spec: Mapping[str, Any], **_: Any) -> dict[Any, str]:
    try:
        parsed = WasmPluginSpec.model_validate(spec)
    except ValueError:
        return {}
    refs = plugin_secret_refs(parsed)
    return {(r.namespace, r.name): name for r in refs}


async def wasmgate_plugin_names(name: str, **_: Any) -> dict[str, str]:
    return {ALL: name}


def watched_copy(body: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a watched body (kopf's bodies are views) without `metadata.managedFields`:
    no pass reads them, and they were more than half of a Ready WasmPlugin kept in memory (22 of
    40 KB as Python objects, three field managers)."""
    metadata = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    return copy.deepcopy({**body, "metadata": metadata})


# What scheduler passes read, kept by the watches instead of listed on every pass (four LISTs
# per pass per WasmScheduler were most of the operator's reads).
async def wasmgate_scheduler_bodies(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: watched_copy(body)}


async def wasmgate_plugin_bodies(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: watched_copy(body)}


async def wasmgate_node_cache_bodies(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: watched_copy(body)}


async def wasmgate_node_shapes(body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {ALL: node_shape(body)}


def every(kwargs: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The values of an index, copied (a shallow list). On kopf's event loop, where the
    scheduler daemons take their snapshots, no update can interleave; from another thread a
    copy that meets a change starts again."""
    store = index(kwargs, name)
    for _attempt in range(SNAPSHOT_ATTEMPTS):
        try:
            return list(store.get(ALL, []))
        except RuntimeError:  # changed size during iteration
            continue
    return list(store.get(ALL, []))


def watched_snapshot(kwargs: Mapping[str, Any]) -> Snapshot | None:
    """The cluster as the watches hold it; None (list instead) when run without the indexes."""
    names = (
        "wasmgate_scheduler_bodies",
        "wasmgate_plugin_bodies",
        "wasmgate_node_shapes",
        "wasmgate_node_cache_bodies",
    )
    if not all(name in kwargs for name in names):
        return None
    schedulers, plugins, nodes, caches = (every(kwargs, name) for name in names)
    return Snapshot(schedulers=schedulers, plugins=plugins, nodes=nodes, node_caches=caches)


def register(registry: kopf.OperatorRegistry) -> None:
    """Add the indexes to `registry`; they take no settings."""
    kopf.index("", "v1", "secrets", registry=registry)(wasmgate_secret_versions)
    kopf.index(GROUP, VERSION, POLICIES, registry=registry)(wasmgate_policies)
    kopf.index(GROUP, VERSION, POLICIES, registry=registry)(wasmgate_policy_secrets)
    kopf.index(GROUP, VERSION, PLUGINS, registry=registry)(wasmgate_plugin_secrets)
    kopf.index(GROUP, VERSION, PLUGINS, registry=registry)(wasmgate_plugin_names)
    kopf.index(GROUP, VERSION, SCHEDULERS, registry=registry)(wasmgate_scheduler_bodies)
    kopf.index(GROUP, VERSION, PLUGINS, registry=registry)(wasmgate_plugin_bodies)
    kopf.index(GROUP, VERSION, NODE_CACHES, registry=registry)(wasmgate_node_cache_bodies)
    kopf.index("", "v1", "nodes", registry=registry)(wasmgate_node_shapes)
