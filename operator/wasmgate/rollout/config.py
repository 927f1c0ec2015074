"""Render one KubeSchedulerConfiguration per WasmScheduler, deterministically.

The same scheduler and plugins always give the same bytes, because the ConfigMap is named by
their hash: an unchanged configuration must never look like a new revision, and a revision's
name must say exactly what it runs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import yaml

from wasmgate.api.wasmplugin import DEFAULT_WEIGHT
from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.names import CONFIG_HASH_LENGTH, lease_name, scheduler_name
from wasmgate.rollout.plugins import PluginEntry, guest_url
from wasmgate.rollout.settings import RolloutConfig

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"


def _multi_point_item(entry: PluginEntry) -> dict[str, Any]:
    # Weight only matters to score plugins; leaving the default out keeps filters' configs
    # identical to what upstream's examples write.
    if entry.weight == DEFAULT_WEIGHT:
        return {"name": entry.name}
    return {"name": entry.name, "weight": entry.weight}


def _plugin_config_item(entry: PluginEntry, store_root: str) -> dict[str, Any]:
    return {
        "name": entry.name,
        "args": {
            "guestURL": guest_url(store_root, entry.layer_digest),
            "guestConfig": entry.guest_config,
            "logSeverity": entry.log_severity,
        },
    }


def _without(items: Any, names: set[str]) -> list[Any]:
    """Items of a baseProfile list that do not name one of our plugins (ours win)."""
    if not isinstance(items, list):
        return []
    return [item for item in items if not (isinstance(item, dict) and item.get("name") in names)]


def build_profile(
    scheduler: WasmScheduler, plugins: Iterable[PluginEntry], settings: RolloutConfig
) -> dict[str, Any]:
    """The scheduler's one profile: baseProfile, then every plugin sorted by name."""
    entries = sorted(plugins, key=lambda entry: entry.name)
    names = {entry.name for entry in entries}
    profile: dict[str, Any] = copy.deepcopy(dict(scheduler.spec.base_profile))
    profile["schedulerName"] = scheduler_name(scheduler)
    plugin_sets = profile.setdefault("plugins", {})
    multi_point = plugin_sets.setdefault("multiPoint", {})
    multi_point["enabled"] = [
        *_without(multi_point.get("enabled"), names),
        *(_multi_point_item(entry) for entry in entries),
    ]
    profile["pluginConfig"] = [
        *_without(profile.get("pluginConfig"), names),
        *(_plugin_config_item(entry, settings.store_root) for entry in entries),
    ]
    return profile


def build_scheduler_config(
    scheduler: WasmScheduler,
    plugins: Iterable[PluginEntry],
    settings: RolloutConfig | None = None,
) -> dict[str, Any]:
    """The KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) for the plugins.

    Leader election is always on, with a lease named after the scheduler in the Deployment's
    namespace: replicas > 1 then run one active scheduler, and two WasmSchedulers never share
    kube-scheduler's own lease.
    """
    settings = settings or RolloutConfig()
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "leaderElection": {
            "leaderElect": True,
            "resourceLock": "leases",
            "resourceName": lease_name(scheduler),
            "resourceNamespace": settings.namespace,
        },
        "profiles": [build_profile(scheduler, plugins, settings)],
    }


def render_config(config: dict[str, Any]) -> str:
    """The configuration as the ConfigMap stores it: YAML with sorted keys (stable bytes)."""
    # Every scheduler pass renders its desired configuration to learn its name; YAML is slow to
    # write, JSON is not, so the text is kept for each canonical JSON form.
    return _render(json.dumps(config, sort_keys=True, separators=(",", ":")))


# libyaml's emitter writes the same bytes as PyYAML's own for this data (a unit test holds it to
# that: the bytes name the ConfigMap), five times faster.
_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.lru_cache(maxsize=64)
def _render(canonical: str) -> str:
    return yaml.dump(
        json.loads(canonical), Dumper=_DUMPER, sort_keys=True, default_flow_style=False
    )


def forget_rendered() -> None:
    """Drop every kept rendering: after deletions most of them name plugins and WasmSchedulers
    that are gone (64 configurations of up to 50 plugins are about 1 MB); a live scheduler's
    next pass renders its own again."""
    _render.cache_clear()


def config_hash(text: str) -> str:
    """Short sha256 of the rendered configuration: the ConfigMap's name suffix."""
    return hashlib.sha256(text.encode()).hexdigest()[:CONFIG_HASH_LENGTH]
