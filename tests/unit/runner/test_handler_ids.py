"""The operator's kopf handler ids and their settings, as a running cluster knows them.

Kopf stores progress under handler ids in every object's annotations, passes indexes to handlers
as keyword arguments named by their ids, and routes webhook calls by id: a renamed handler would
make a running cluster's progress unrecognised. The ids are the ones of the operator before its
handlers moved into runner/handlers/.
"""

from __future__ import annotations

import kopf
import pytest

from wasmgate.runner.handlers import register_handlers
from wasmgate.settings import OperatorSettings
from wasmgate_admission.settings import AdmissionSettings

OPERATOR_IDS = {
    "activities": ["login"],
    "changing": [
        "reconcile-trigger/metadata.annotations.wasmgate.dev/reconcile-requested",
        "reconcile-spec/spec",
        "reconcile",
        "reconcile",
    ],
    "indexing": [
        "wasmgate_secret_versions",
        "wasmgate_policies",
        "wasmgate_policy_secrets",
        "wasmgate_plugin_secrets",
        "wasmgate_plugin_names",
        "wasmgate_scheduler_bodies",
        "wasmgate_plugin_bodies",
        "wasmgate_node_cache_bodies",
        "wasmgate_node_shapes",
    ],
    "spawning": ["wasmplugin_resync", "rollout"],
    "watching": [
        "secret_changed",
        "wasmtrustpolicy_changed",
        "wake_on_plugin",
        "wake_on_node_cache",
        "wake_on_scheduler",
        "wake_on_node",
    ],
    "webhooks": [],
}
WEBHOOK_IDS = {
    "activities": ["admission_startup", "admission_cleanup"],
    "indexing": [
        "admission_secrets",
        "admission_schedulers",
        "admission_scheduler_plugins",
        "admission_policies",
    ],
    "webhooks": ["wasmplugin-admission", "wasmscheduler-admission", "wasmtrustpolicy-admission"],
}


def _ids(registry: kopf.OperatorRegistry) -> dict[str, list[str]]:
    kinds = {
        "activities": registry._activities,
        "changing": registry._changing,
        "indexing": registry._indexing,
        "spawning": registry._spawning,
        "watching": registry._watching,
        "webhooks": registry._webhooks,
    }
    return {kind: [str(h.id) for h in r.get_all_handlers()] for kind, r in kinds.items()}


@pytest.mark.parametrize("served", [True, False], ids=["webhook", "no_webhook"])
def test_handler_ids_are_those_a_running_cluster_knows(served: bool) -> None:
    settings = OperatorSettings(admission=AdmissionSettings(enabled=served))
    registry = kopf.OperatorRegistry()
    register_handlers(registry, settings)
    expected = {k: v + (WEBHOOK_IDS.get(k, []) if served else []) for k, v in OPERATOR_IDS.items()}
    assert _ids(registry) == expected
