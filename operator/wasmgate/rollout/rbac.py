"""The identity scheduler pods run under: one ServiceAccount that deploy/ installs, never us.

A second scheduler needs what kube-scheduler's own identity has (bind pods, read the cluster,
volumes), the kube-system ConfigMap that delegated authentication reads, and a leader-election
Lease of its own. Creating those bindings per WasmScheduler would need create/patch on
ClusterRoleBindings and `bind` on kube-scheduler's roles, and with those an operator (or whoever
takes it over) can hand kube-scheduler's powers to any subject. So the bindings are static
(deploy/scheduler/rbac.yaml), every scheduler Deployment names the same ServiceAccount, and the
operator only checks that the account exists (runner/rollout_reads.py), to say what to apply when it
does not.
"""

from __future__ import annotations

SCHEDULER_SERVICE_ACCOUNT = "wasmgate-scheduler"
"""Must match deploy/scheduler/rbac.yaml (tests/unit/deploy/test_scheduler_rbac.py checks it)."""
RBAC_MANIFEST = "deploy/scheduler/rbac.yaml"


def missing_identity_message(namespace: str) -> str:
    """What the rollout reports while the scheduler ServiceAccount is not installed."""
    return (
        f"ServiceAccount {namespace}/{SCHEDULER_SERVICE_ACCOUNT}, which scheduler pods run as, "
        f"does not exist; apply {RBAC_MANIFEST} (it is part of `kubectl apply -k deploy/`)"
    )
