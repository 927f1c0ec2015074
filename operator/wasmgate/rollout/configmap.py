"""The immutable ConfigMap that holds one revision of a scheduler configuration.

Immutable and named by content hash, so a revision can never change under a running scheduler,
and rolling back is pointing the Deployment at an older name.
"""

from __future__ import annotations

from typing import Any

from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.config import config_hash, render_config
from wasmgate.rollout.names import (
    COMPONENT_SCHEDULER_CONFIG,
    CONFIG_KEY,
    LABEL_COMPONENT,
    LABEL_CONFIG_HASH,
    LABEL_REVISION,
    LABEL_SCHEDULER,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    config_map_name,
    object_stem,
    owner_references,
)
from wasmgate.rollout.settings import RolloutConfig


def build_config_map(
    scheduler: WasmScheduler,
    config: dict[str, Any],
    revision: int,
    settings: RolloutConfig | None = None,
) -> dict[str, Any]:
    """ConfigMap `<scheduler>-config-<hash>` holding `config.yaml`, labelled with its revision."""
    settings = settings or RolloutConfig()
    text = render_config(config)
    digest = config_hash(text)
    metadata: dict[str, Any] = {
        "name": config_map_name(scheduler, digest),
        "namespace": settings.namespace,
        "labels": {
            LABEL_SCHEDULER: object_stem(scheduler),
            LABEL_COMPONENT: COMPONENT_SCHEDULER_CONFIG,
            LABEL_REVISION: str(revision),
            LABEL_CONFIG_HASH: digest,
            MANAGED_BY: MANAGED_BY_VALUE,
        },
    }
    owners = owner_references(scheduler)
    if owners:
        metadata["ownerReferences"] = owners
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "immutable": True,
        "data": {CONFIG_KEY: text},
    }
