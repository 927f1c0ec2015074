"""Secret and WasmTrustPolicy handlers: re-run the passes of the plugins that read what changed.

A plugin pass reads key and pull Secrets and every WasmTrustPolicy; when one changes, the plugins
that read it are annotated with a trigger (plugins.py reacts to it), so their next pass sees the
new material without waiting for the periodic resync.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from wasmgate.api.base import GROUP, VERSION
from wasmgate.runner import cluster
from wasmgate.runner.handlers.indexes import ALL, POLICIES, Names, index
from wasmgate.runner.handlers.plugins import TRIGGER_ANNOTATION
from wasmgate.runner.runtime import Runtime


def _trigger(memo: Runtime, plugins: Collection[str], why: str) -> None:
    for plugin in sorted(plugins):
        try:
            cluster.request_reconcile(memo.api, plugin, TRIGGER_ANNOTATION, why)
        except ApiException as e:
            raise kopf.TemporaryError(f"cannot annotate WasmPlugin {plugin}: {e.status}") from e


def secret_changed(
    type: str | None, namespace: str | None, name: str, memo: Runtime, **kwargs: Any
) -> None:
    # type None is the initial listing at start-up: nothing changed, and a restart must not
    # re-verify every plugin.
    if type is None:
        return
    key = (namespace or "", name)
    by_secret: Names = index(kwargs, "wasmgate_plugin_secrets")
    plugins = set(by_secret.get(key, []))
    if key in index(kwargs, "wasmgate_policy_secrets"):
        every: Names = index(kwargs, "wasmgate_plugin_names")
        plugins |= set(every.get(ALL, []))
    _trigger(memo, plugins, f"Secret {namespace}/{name} {type.lower()}")


def wasmtrustpolicy_changed(type: str | None, name: str, memo: Runtime, **kwargs: Any) -> None:
    if type is None:
        return
    every: Names = index(kwargs, "wasmgate_plugin_names")
    _trigger(memo, set(every.get(ALL, [])), f"WasmTrustPolicy {name} {type.lower()}")


def register(registry: kopf.OperatorRegistry) -> None:
    """Add the Secret and WasmTrustPolicy handlers to `registry`; they take no settings."""
    kopf.on.event("", "v1", "secrets", registry=registry)(secret_changed)
    kopf.on.event(GROUP, VERSION, POLICIES, registry=registry)(wasmtrustpolicy_changed)
