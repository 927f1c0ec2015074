"""The ValidatingWebhookConfiguration wasmgate applies, built by a pure function.

We build it ourselves instead of letting kopf manage it (`settings.admission.managed`): kopf
hard-codes `timeoutSeconds: 30`, and with our fail-open policy a hung webhook would then stall
every `kubectl apply` for 30 s. The URL path of each webhook is the kopf handler id, which is
how kopf's WebhookServer routes a review to its handler.
"""

from __future__ import annotations

import base64
from typing import Any

from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmplugin import WASMPLUGIN
from wasmgate.api.wasmscheduler import WASMSCHEDULER
from wasmgate.api.wasmtrustpolicy import WASMTRUSTPOLICY
from wasmgate_admission.settings import ServiceRef

WASMPLUGIN_HANDLER = "wasmplugin-admission"
WASMSCHEDULER_HANDLER = "wasmscheduler-admission"
WASMTRUSTPOLICY_HANDLER = "wasmtrustpolicy-admission"

# The apiserver calls the webhook for an UPDATE only when the spec changed (CEL, GA since
# Kubernetes 1.30). Metadata and status writes (finalizers, kopf's progress annotations, labels)
# have nothing to check, and refusing them would trap an object admitted while the webhook was
# down: it could not even lose its finalizer. The handlers skip such updates too (older clusters).
SPEC_CHANGED = {
    "name": "spec-changed",
    "expression": "request.operation != 'UPDATE' || object.spec != oldObject.spec",
}

# (handler id, plural, operations)
WEBHOOKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (WASMPLUGIN_HANDLER, WASMPLUGIN.plural, ("CREATE", "UPDATE")),
    (WASMSCHEDULER_HANDLER, WASMSCHEDULER.plural, ("DELETE",)),
    (WASMTRUSTPOLICY_HANDLER, WASMTRUSTPOLICY.plural, ("CREATE", "UPDATE")),
)


def _client_config(
    handler: str, url: str | None, service: ServiceRef | None, ca_bundle: str
) -> dict[str, Any]:
    if service is not None:
        target: dict[str, Any] = {
            "service": {
                "namespace": service.namespace,
                "name": service.name,
                "port": service.port,
                "path": f"/{handler}",
            }
        }
    elif url is not None:
        target = {"url": f"{url.rstrip('/')}/{handler}"}
    else:
        raise ValueError("the webhook needs a url or a service")
    return {**target, "caBundle": ca_bundle}


def build_validating_webhook_configuration(
    *,
    name: str,
    ca_pem: bytes,
    failure_policy: str,
    timeout_seconds: int,
    url: str | None = None,
    service: ServiceRef | None = None,
) -> dict[str, Any]:
    """The admissionregistration.k8s.io/v1 object routing wasmgate kinds to the webhook, called
    at `url` or, when given, through `service`."""
    if failure_policy not in ("Ignore", "Fail"):
        raise ValueError(f"failure_policy {failure_policy!r}: use Ignore or Fail")
    if not 1 <= timeout_seconds <= 30:
        raise ValueError(f"timeout_seconds {timeout_seconds}: the apiserver accepts 1 to 30")
    ca_bundle = base64.b64encode(ca_pem).decode("ascii")
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "wasmgate"}},
        "webhooks": [
            {
                "name": f"{plural}.{name}",
                "clientConfig": _client_config(handler, url, service, ca_bundle),
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "resources": [plural],
                        "operations": list(operations),
                        "scope": "Cluster",
                    }
                ],
                "matchConditions": [SPEC_CHANGED] if "UPDATE" in operations else [],
                "failurePolicy": failure_policy,
                "matchPolicy": "Equivalent",
                "sideEffects": "None",
                "timeoutSeconds": timeout_seconds,
                "admissionReviewVersions": ["v1"],
            }
            for handler, plural, operations in WEBHOOKS
        ],
    }
