"""The webhook's one write to cluster setup: its ValidatingWebhookConfiguration.

Kept apart from the checks so they stay pure. The API client is the operator's own (`wasmgate
run --kubeconfig`, or the in-cluster account); the webhook never reads KUBECONFIG by itself.
"""

from __future__ import annotations

from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

NOT_FOUND = 404
REQUEST_TIMEOUT_SECONDS = 30
# Fields the apiserver adds on write; a configuration equal in everything else needs no update.
_DEFAULTED_WEBHOOK_FIELDS = ("namespaceSelector", "objectSelector")


def _comparable(configuration: dict[str, Any]) -> dict[str, Any]:
    webhooks = [
        {
            key: value
            for key, value in hook.items()
            if key not in _DEFAULTED_WEBHOOK_FIELDS and value != []
        }
        for hook in configuration.get("webhooks") or []
    ]
    labels = (configuration.get("metadata") or {}).get("labels") or {}
    return {"labels": labels, "webhooks": webhooks}


def apply_configuration(api: client.ApiClient, configuration: dict[str, Any]) -> str:
    """Create the ValidatingWebhookConfiguration or bring it back to `configuration`; returns
    "created", "updated" or "unchanged"."""
    admission = client.AdmissionregistrationV1Api(api)
    name = configuration["metadata"]["name"]
    try:
        current = api.sanitize_for_serialization(  # type: ignore[no-untyped-call]
            admission.read_validating_webhook_configuration(
                name, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
    except ApiException as e:
        if e.status != NOT_FOUND:
            raise
        # The client serializes plain dicts as they are; its models are only type hints here.
        admission.create_validating_webhook_configuration(
            cast(Any, configuration), _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
        return "created"
    if _comparable(current) == _comparable(configuration):
        return "unchanged"
    replacement = {
        **configuration,
        "metadata": {
            **configuration["metadata"],
            "resourceVersion": current["metadata"]["resourceVersion"],
        },
    }
    admission.replace_validating_webhook_configuration(
        name, cast(Any, replacement), _request_timeout=REQUEST_TIMEOUT_SECONDS
    )
    return "updated"
