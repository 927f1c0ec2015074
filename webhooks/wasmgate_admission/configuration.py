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

WASMPLUGIN_HANDLER = "wasmplugin_admission"
WASMSCHEDULER_HANDLER = "wasmscheduler_admission"
WASMTRUSTPOLICY_HANDLER = "wasmtrustpolicy_admission"

# (handler id, plural, operations)
WEBHOOKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (WASMPLUGIN_HANDLER, "wasmplugins", ("CREATE", "UPDATE")),
    (WASMSCHEDULER_HANDLER, "wasmschedulers", ("DELETE",)),
    (WASMTRUSTPOLICY_HANDLER, "wasmtrustpolicies", ("CREATE", "UPDATE")),
)


def build_validating_webhook_configuration(
    *,
    name: str,
    url: str,
    ca_pem: bytes,
    failure_policy: str,
    timeout_seconds: int,
) -> dict[str, Any]:
    """The admissionregistration.k8s.io/v1 object routing wasmgate kinds to the webhook."""
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
                "clientConfig": {"url": f"{url.rstrip('/')}/{handler}", "caBundle": ca_bundle},
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "resources": [plural],
                        "operations": list(operations),
                        "scope": "Cluster",
                    }
                ],
                "failurePolicy": failure_policy,
                "matchPolicy": "Equivalent",
                "sideEffects": "None",
                "timeoutSeconds": timeout_seconds,
                "admissionReviewVersions": ["v1"],
            }
            for handler, plural, operations in WEBHOOKS
        ],
    }
