"""The identity of a scheduler Deployment: its ServiceAccount and what that account may do.

A second scheduler needs what kube-scheduler's own identity has (bind pods, read the cluster,
volumes), the kube-system ConfigMap that delegated authentication reads, and its own lease:
the bootstrap `system:kube-scheduler` role only lets it update the lease named `kube-scheduler`,
which two schedulers must never share.
"""

from __future__ import annotations

from typing import Any

from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.names import (
    MANAGED_BY,
    MANAGED_BY_VALUE,
    lease_name,
    object_stem,
    owner_references,
    selector_labels,
    service_account_name,
)
from wasmgate.rollout.settings import RolloutConfig

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
# Bootstrap roles every kube-apiserver creates; a scheduler other than the default one binds them.
CLUSTER_ROLES = ("system:kube-scheduler", "system:volume-scheduler")
AUTH_READER_ROLE = "extension-apiserver-authentication-reader"
AUTH_READER_NAMESPACE = "kube-system"


def _metadata(
    scheduler: WasmScheduler, name: str, namespace: str | None, *, owned: bool = True
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {**selector_labels(scheduler), MANAGED_BY: MANAGED_BY_VALUE},
    }
    if namespace is not None:
        metadata["namespace"] = namespace
    owners = owner_references(scheduler) if owned else []
    if owners:
        metadata["ownerReferences"] = owners
    return metadata


def _subject(scheduler: WasmScheduler, settings: RolloutConfig) -> dict[str, str]:
    return {
        "kind": "ServiceAccount",
        "name": service_account_name(scheduler),
        "namespace": settings.namespace,
    }


def build_rbac(
    scheduler: WasmScheduler, settings: RolloutConfig | None = None
) -> list[dict[str, Any]]:
    """ServiceAccount, bindings and the lease Role of one scheduler, in apply order."""
    settings = settings or RolloutConfig()
    stem = object_stem(scheduler)
    subject = _subject(scheduler, settings)
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _metadata(scheduler, service_account_name(scheduler), settings.namespace),
        }
    ]
    for role in CLUSTER_ROLES:
        objects.append(
            {
                "apiVersion": RBAC_API,
                "kind": "ClusterRoleBinding",
                "metadata": _metadata(scheduler, f"wasmgate:{stem}:{role.split(':')[-1]}", None),
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
                "subjects": [subject],
            }
        )
    lease_role = f"wasmgate:{stem}:leader-election"
    objects.append(
        {
            "apiVersion": RBAC_API,
            "kind": "Role",
            "metadata": _metadata(scheduler, lease_role, settings.namespace),
            "rules": [
                # `create` cannot be limited by name: the API checks it before the name exists.
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "resourceNames": [lease_name(scheduler)],
                    "verbs": ["get", "update"],
                },
            ],
        }
    )
    objects.append(
        {
            "apiVersion": RBAC_API,
            "kind": "RoleBinding",
            "metadata": _metadata(scheduler, lease_role, settings.namespace),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": lease_role},
            "subjects": [subject],
        }
    )
    # Owner references cannot cross namespaces for a namespaced owner, but the WasmScheduler is
    # cluster-scoped, so this kube-system binding is garbage-collected with it too.
    objects.append(
        {
            "apiVersion": RBAC_API,
            "kind": "RoleBinding",
            "metadata": _metadata(
                scheduler, f"wasmgate:{stem}:authentication-reader", AUTH_READER_NAMESPACE
            ),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": AUTH_READER_ROLE},
            "subjects": [subject],
        }
    )
    return objects
