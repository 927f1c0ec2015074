"""The image of the scheduler pods' `verify-store` init container: the operator's own.

The init container runs `wasmgate verify-store`, so it must be the same build as the operator.
Whatever renamed the operator's image (a kustomize `images:` entry, a Helm value, a mirror)
renamed it in the operator's own Pod, so the operator reads its image there at start-up: its
Pod's name and namespace come from the downward API (POD_NAME, POD_NAMESPACE in
deploy/operator/deployment.yaml). `--verify-store-image` overrides it; outside a Pod (an operator
run from a shell) the default in rollout/settings.py applies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wasmgate.runner.kube_json import as_json

LOG = logging.getLogger(__name__)
ENV_POD_NAME = "POD_NAME"
ENV_POD_NAMESPACE = "POD_NAMESPACE"
OPERATOR_CONTAINER = "operator"


def container_image(pod: Mapping[str, Any], container: str) -> str | None:
    """The image of `container` in a Pod (as a dict), or of its only container."""
    containers = pod.get("spec", {}).get("containers", [])
    for entry in containers:
        if entry.get("name") == container:
            return str(entry["image"])
    return str(containers[0]["image"]) if len(containers) == 1 else None


def own_image(api: client.ApiClient, env: Mapping[str, str]) -> str | None:
    """The operator container's image in this Pod; None outside a Pod or when it cannot tell."""
    name, namespace = env.get(ENV_POD_NAME), env.get(ENV_POD_NAMESPACE)
    if not name or not namespace:
        return None
    try:
        pod = client.CoreV1Api(api).read_namespaced_pod(name, namespace)
    except ApiException as e:
        LOG.warning(
            "cannot read my own Pod %s/%s (HTTP %s): the verify-store init container uses the "
            "default image; set --verify-store-image",
            *(namespace, name, e.status),
        )
        return None
    image = container_image(as_json(api, pod), OPERATOR_CONTAINER)
    if image is None:
        LOG.warning("my Pod %s/%s has no container %r", namespace, name, OPERATOR_CONTAINER)
    return image
