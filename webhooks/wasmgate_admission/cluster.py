"""The webhook's few writes and reads of cluster setup: its API client and its configuration.

Kept apart from the checks so they stay pure; the kopf glue in wasmgate's handlers calls these.
"""

from __future__ import annotations

import os
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

CONFLICT = 409


def api_client() -> client.ApiClient:
    """In-cluster credentials inside a pod, else KUBECONFIG (or ~/.kube/config)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        return client.ApiClient()
    api: client.ApiClient = config.new_client_from_config()  # type: ignore[no-untyped-call]
    return api


def apply_configuration(api: client.ApiClient, configuration: dict[str, Any]) -> None:
    """Create the ValidatingWebhookConfiguration, or replace the one we wrote before."""
    admission = client.AdmissionregistrationV1Api(api)
    name = configuration["metadata"]["name"]
    try:
        # The client serializes plain dicts as they are; its models are only type hints here.
        admission.create_validating_webhook_configuration(cast(Any, configuration))
    except ApiException as e:
        if e.status != CONFLICT:
            raise
        current = admission.read_validating_webhook_configuration(name)
        replacement = {
            **configuration,
            "metadata": {
                **configuration["metadata"],
                "resourceVersion": current.metadata.resource_version if current.metadata else None,
            },
        }
        admission.replace_validating_webhook_configuration(name, cast(Any, replacement))
