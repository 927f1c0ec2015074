"""deploy/ against the kit's real apiserver: the kustomize base applies, and its RBAC is tight.

The RBAC rows are asked with impersonation (`kubectl auth can-i --as=...`), the way an
administrator would check them; what `can-i` cannot show (the admission policy that pins an
agent to its own node's cache, the RBAC escalation check on bindings) is tried as a real
request from that identity.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from agent.staging_kit import REPO_ROOT, delete_if_present
from agent.staging_kit import build_node_cache_body as cache_body
from support.kit import KitHandle
from wasmgate.api.base import GROUP, VERSION
from wasmgate.kit.wait import wait_for

pytestmark = pytest.mark.e2e

DEPLOY = REPO_ROOT / "deploy"
NAMESPACE = "wasmgate-system"
OPERATOR = f"system:serviceaccount:{NAMESPACE}:wasmgate-operator"
AGENT = f"system:serviceaccount:{NAMESPACE}:wasmgate-agent"
NODE_NAME_EXTRA = "authentication.kubernetes.io%2fnode-name"
RBAC_FILES = ("agent/namespace.yaml", "agent/rbac.yaml", "operator/rbac.yaml")


@pytest.fixture(scope="module")
def rbac_applied(kit_session: KitHandle) -> Iterator[KitHandle]:
    """deploy/'s CRDs installed and its RBAC applied for real (not a dry run)."""
    kit = kit_session
    kit.kubectl("apply", "--server-side", "--force-conflicts", "-k", DEPLOY / "crds")
    kit.kubectl("wait", "--for=condition=Established", "crd",
                "-l", "app.kubernetes.io/part-of=wasmgate", "--timeout=60s")  # fmt: skip
    for name in RBAC_FILES:
        kit.kubectl("apply", "-f", DEPLOY / name)
    yield kit


def test_the_whole_base_passes_a_server_dry_run(rbac_applied: KitHandle) -> None:
    result = rbac_applied.kubectl("apply", "-k", DEPLOY, "--dry-run=server")
    lines = result.stdout.splitlines()
    assert all(line.endswith("(server dry run)") for line in lines), result.stdout
    for expected in (
        "deployment.apps/wasmgate-operator",
        "daemonset.apps/wasmgate-agent",
        "service/wasmgate-webhook",
        "wasmtrustpolicy.wasmgate.dev/default",
        "wasmscheduler.wasmgate.dev/wasmgate-scheduler",
        "kopfpeering.kopf.dev/wasmgate",
        "validatingadmissionpolicy.admissionregistration.k8s.io/wasmgate-agent-own-node-cache",
    ):
        assert any(line.startswith(expected + " ") for line in lines), (expected, result.stdout)


# (who, verb, resource, namespace or None, expected answer)
CAN_I = [
    (AGENT, "list", "wasmplugins.wasmgate.dev", None, "yes"),
    (AGENT, "update", "wasmplugins.wasmgate.dev", None, "no"),
    (AGENT, "patch", "wasmplugins.wasmgate.dev", None, "no"),
    (AGENT, "patch", "wasmplugins.wasmgate.dev/status", None, "no"),
    (AGENT, "delete", "wasmplugins.wasmgate.dev", None, "no"),
    (AGENT, "patch", "wasmschedulers.wasmgate.dev", None, "no"),
    (AGENT, "create", "wasmnodecaches.wasmgate.dev", None, "yes"),
    (AGENT, "delete", "wasmnodecaches.wasmgate.dev", None, "no"),
    (AGENT, "get", "secrets", NAMESPACE, "yes"),
    (AGENT, "list", "secrets", NAMESPACE, "no"),
    (AGENT, "get", "secrets", "default", "no"),
    (OPERATOR, "patch", "wasmplugins.wasmgate.dev/status", None, "yes"),
    (OPERATOR, "patch", "wasmschedulers.wasmgate.dev/status", None, "yes"),
    (OPERATOR, "delete", "wasmplugins.wasmgate.dev", None, "no"),
    (OPERATOR, "create", "wasmnodecaches.wasmgate.dev", None, "no"),
    (OPERATOR, "update", "wasmtrustpolicies.wasmgate.dev", None, "no"),
    (OPERATOR, "list", "secrets", NAMESPACE, "yes"),
    (OPERATOR, "create", "secrets", NAMESPACE, "yes"),  # the shared webhook CA
    (OPERATOR, "update", "secrets/wasmgate-webhook-ca", NAMESPACE, "yes"),
    (OPERATOR, "update", "secrets/other", NAMESPACE, "no"),
    (OPERATOR, "create", "secrets", "default", "no"),
    (OPERATOR, "list", "secrets", "default", "no"),
    (OPERATOR, "get", "secrets", "kube-system", "no"),
    (OPERATOR, "list", "secrets", None, "no"),
    (OPERATOR, "create", "deployments.apps", NAMESPACE, "yes"),
    (OPERATOR, "create", "deployments.apps", "default", "no"),
    (OPERATOR, "create", "pods", NAMESPACE, "no"),
    (OPERATOR, "bind", "clusterroles.rbac.authorization.k8s.io/system:kube-scheduler", None,
     "yes"),
    (OPERATOR, "bind", "clusterroles.rbac.authorization.k8s.io/cluster-admin", None, "no"),
    (OPERATOR, "escalate", "roles.rbac.authorization.k8s.io", NAMESPACE, "no"),
    (OPERATOR, "create", "rolebindings.rbac.authorization.k8s.io", "default", "no"),
    (OPERATOR, "update",
     "validatingwebhookconfigurations.admissionregistration.k8s.io/wasmgate.dev", None, "yes"),
    (OPERATOR, "update",
     "validatingwebhookconfigurations.admissionregistration.k8s.io/someone-else", None, "no"),
]  # fmt: skip


def _row_id(row: tuple[str, str, str, str | None, str]) -> str:
    who, verb, resource, namespace, expected = row
    where = f"-in-{namespace}" if namespace else ""
    return f"{who.rsplit('-', 1)[-1]}-{verb}-{resource.split('.')[0]}{where}-{expected}"


@pytest.mark.parametrize("row", CAN_I, ids=[_row_id(r) for r in CAN_I])
def test_can_i(rbac_applied: KitHandle, row: tuple[str, str, str, str | None, str]) -> None:
    who, verb, resource, namespace, expected = row
    scope = ["-n", namespace] if namespace else ["--all-namespaces"]
    if "/status" in resource:
        resource, _ = resource.split("/")
        scope.append("--subresource=status")
    answer = rbac_applied.kubectl("auth", "can-i", verb, resource, *scope, f"--as={who}",
                                  check=False)  # fmt: skip
    assert answer.stdout.strip() == expected, answer.stderr


def _as(kit: KitHandle, user: str, node: str | None = None) -> client.ApiClient:
    api = kit.api_client()
    api.default_headers["Impersonate-User"] = user
    api.default_headers["Impersonate-Group"] = "system:serviceaccounts"
    if node is not None:
        api.default_headers[f"Impersonate-Extra-{NODE_NAME_EXTRA}"] = node
    return api


def test_an_agent_cannot_write_another_nodes_cache(rbac_applied: KitHandle) -> None:
    kit = rbac_applied
    kit.kubectl("apply", "-f", DEPLOY / "agent" / "admission-policy.yaml")
    own, other = (f"deploy-{side}-{uuid.uuid4().hex[:6]}" for side in ("own", "other"))
    agent = client.CustomObjectsApi(_as(kit, AGENT, node=own))

    # A new policy binding takes effect a moment after it is created.
    def refusal() -> str | None:
        try:
            agent.create_cluster_custom_object(GROUP, VERSION, "wasmnodecaches", cache_body(other))
        except ApiException as e:
            return e.body if e.status == 403 and "its own node" in (e.body or "") else None
        with kit.api_client() as admin:
            delete_if_present(admin, "wasmnodecaches", other)
        return None

    body = wait_for(refusal, what="the admission policy to refuse another node's cache",
                    timeout=30)  # fmt: skip
    assert f"this token is for {own}, the object is {other}" in body


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("system:kube-scheduler", True), ("cluster-admin", False)],
    ids=["scheduler-role-bound", "cluster-admin-refused"],
)
def test_the_operator_binds_only_the_scheduler_roles(
    rbac_applied: KitHandle, role: str, allowed: bool
) -> None:
    rbac = client.RbacAuthorizationV1Api(_as(rbac_applied, OPERATOR))
    role_ref = client.V1RoleRef(
        api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role
    )
    binding = client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=f"wasmgate-deploy-test-{uuid.uuid4().hex[:6]}"),
        role_ref=role_ref,
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="anyone", namespace=NAMESPACE)],
    )
    if allowed:
        created = rbac.create_cluster_role_binding(binding, dry_run="All")
        assert created.role_ref.name == role
        return
    with pytest.raises(ApiException) as refused:
        rbac.create_cluster_role_binding(binding, dry_run="All")
    assert refused.value.status == 403
    assert "is attempting to grant RBAC permissions not currently held" in (
        refused.value.body or ""
    ), refused.value.body
