"""deploy/ against the kit's real apiserver: the kustomize base applies, and its RBAC is tight.

The RBAC rows are asked with impersonation (`kubectl auth can-i --as=...`), the way an
administrator would check them; what `can-i` cannot show (the admission policy that pins an
agent to its own node's cache, the RBAC escalation check on bindings) is tried as a real
request from that identity.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.kit import KitHandle
from support.staging_kit import REPO_ROOT, delete_if_present
from support.staging_kit import build_node_cache_body as cache_body
from wasmgate.api.base import GROUP, VERSION
from wasmgate.api.wasmscheduler import WasmScheduler
from wasmgate.rollout.deployment import build_deployment
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

DEPLOY = REPO_ROOT / "deploy"
NAMESPACE = "wasmgate-system"
OPERATOR = f"system:serviceaccount:{NAMESPACE}:wasmgate-operator"
AGENT = f"system:serviceaccount:{NAMESPACE}:wasmgate-agent"
NODE_NAME_EXTRA = "authentication.kubernetes.io%2fnode-name"
SCHEDULER = f"system:serviceaccount:{NAMESPACE}:wasmgate-scheduler"
RBAC_FILES = (
    "agent/namespace.yaml",
    "agent/rbac.yaml",
    "operator/rbac.yaml",
    "operator/admission-policy.yaml",
    "scheduler/rbac.yaml",
)


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
        "validatingadmissionpolicy.admissionregistration.k8s.io/wasmgate-operator-scheduler-pods",
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
    (OPERATOR, "get", "serviceaccounts/wasmgate-scheduler", NAMESPACE, "yes"),
    (OPERATOR, "create", "serviceaccounts", NAMESPACE, "no"),
    (OPERATOR, "create", "serviceaccounts/token", NAMESPACE, "no"),
    (OPERATOR, "create", "namespaces", None, "no"),
    (SCHEDULER, "create", "bindings", "default", "yes"),
    (SCHEDULER, "update", "leases.coordination.k8s.io/team-a", NAMESPACE, "yes"),
    (SCHEDULER, "update", "leases.coordination.k8s.io/team-a", "default", "no"),
    (SCHEDULER, "get", "configmaps/extension-apiserver-authentication", "kube-system", "yes"),
    (SCHEDULER, "list", "secrets", None, "no"),
    (SCHEDULER, "create", "rolebindings.rbac.authorization.k8s.io", NAMESPACE, "no"),
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


# --- The operator grants nothing -------------------------------------------------------------
#
# The operator creates no RBAC object: scheduler pods run as the wasmgate-scheduler account that
# deploy/scheduler/rbac.yaml binds. So nothing it holds lets it give any role to any subject, and
# the complete list of what it holds is pinned below: a rule added to deploy/operator/rbac.yaml
# (or any binding that reaches its ServiceAccount or groups) fails the listing test.

# What a token of the operator's ServiceAccount authenticates as (its groups grant rules too).
OPERATOR_GROUPS = (
    "system:serviceaccounts",
    f"system:serviceaccounts:{NAMESPACE}",
    "system:authenticated",
)
RBAC = "rbac.authorization.k8s.io"

# Every way to hand out permissions, asked everywhere it could apply (None: every namespace).
GRANTING = [
    ("create", f"clusterrolebindings.{RBAC}", None),
    ("update", f"clusterrolebindings.{RBAC}", None),
    ("patch", f"clusterrolebindings.{RBAC}", None),
    ("create", f"rolebindings.{RBAC}", None),
    ("create", f"rolebindings.{RBAC}", NAMESPACE),
    ("create", f"rolebindings.{RBAC}", "kube-system"),
    ("patch", f"rolebindings.{RBAC}", NAMESPACE),
    ("create", f"clusterroles.{RBAC}", None),
    ("patch", f"clusterroles.{RBAC}", None),
    ("create", f"roles.{RBAC}", NAMESPACE),
    ("patch", f"roles.{RBAC}", NAMESPACE),
    ("bind", f"clusterroles.{RBAC}", None),
    ("bind", f"clusterroles.{RBAC}/cluster-admin", None),
    ("bind", f"clusterroles.{RBAC}/system:kube-scheduler", None),
    ("bind", f"roles.{RBAC}", NAMESPACE),
    ("escalate", f"clusterroles.{RBAC}", None),
    ("escalate", f"roles.{RBAC}", NAMESPACE),
    ("impersonate", "users", None),
    ("impersonate", "groups", None),
    ("impersonate", "serviceaccounts", NAMESPACE),
    ("create", "serviceaccounts/token", NAMESPACE),
    ("create", "certificatesigningrequests.certificates.k8s.io", None),
    ("update", "certificatesigningrequests.certificates.k8s.io/approval", None),
    ("create", "pods", NAMESPACE),
    ("create", "pods/exec", NAMESPACE),
    ("update", "deployments.apps", NAMESPACE),
    ("create", "daemonsets.apps", NAMESPACE),
    ("create", "validatingadmissionpolicies.admissionregistration.k8s.io", None),
    ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io", None),
    ("update", "customresourcedefinitions.apiextensions.k8s.io", None),
]


def _as_operator(
    kit: KitHandle, *args: str, document: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl as a token of the operator's ServiceAccount authenticates: its name and groups."""
    groups = [f"--as-group={group}" for group in OPERATOR_GROUPS]
    return kit.run("kubectl", *args, f"--as={OPERATOR}", *groups, check=False,
                   input_text=None if document is None else json.dumps(document))  # fmt: skip


def _operator_can_i(kit: KitHandle, verb: str, resource: str, namespace: str | None) -> str:
    scope = ["-n", namespace] if namespace else ["--all-namespaces"]
    if resource.endswith(("/approval", "/token", "/exec")):
        resource, subresource = resource.rsplit("/", 1)
        scope.append(f"--subresource={subresource}")
    answer = _as_operator(kit, "auth", "can-i", verb, resource, *scope)
    return answer.stdout.strip() or answer.stderr.strip()


@pytest.mark.parametrize(
    "row", GRANTING, ids=[f"{v}-{r.split('.')[0]}{'-in-' + n if n else ''}" for v, r, n in GRANTING]
)
def test_the_operator_cannot_grant(
    rbac_applied: KitHandle, row: tuple[str, str, str | None]
) -> None:
    assert _operator_can_i(rbac_applied, *row) == "no"


def _binding(kind: str, role_kind: str, role: str, namespace: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"wasmgate-grant-test-{uuid.uuid4().hex[:6]}"}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        # An arbitrary subject: a user nobody vouches for.
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "mallory"}],
    }


@pytest.mark.parametrize(
    ("kind", "role_kind", "role", "namespace"),
    [
        ("ClusterRoleBinding", "ClusterRole", "cluster-admin", None),
        ("ClusterRoleBinding", "ClusterRole", "system:kube-scheduler", None),
        ("ClusterRoleBinding", "ClusterRole", "wasmgate-operator", None),
        ("RoleBinding", "ClusterRole", "cluster-admin", NAMESPACE),
        ("RoleBinding", "Role", "wasmgate-operator", NAMESPACE),
        ("RoleBinding", "Role", "wasmgate-scheduler:leader-election", NAMESPACE),
        ("RoleBinding", "Role", "extension-apiserver-authentication-reader", "kube-system"),
    ],
    ids=["cluster-admin", "kube-scheduler", "its-own-clusterrole", "cluster-admin-in-namespace",
         "its-own-role", "scheduler-lease-role", "auth-reader"],
)  # fmt: skip
def test_the_operator_binds_no_role_to_anyone(
    rbac_applied: KitHandle, kind: str, role_kind: str, role: str, namespace: str | None
) -> None:
    """A real request (server dry run) as the operator: refused by authorization, before the
    escalation check could weigh the role (the operator holds no verb on bindings at all)."""
    body = _binding(kind, role_kind, role, namespace)
    refused = _as_operator(rbac_applied, "create", "--dry-run=server", "-f", "-", document=body)
    assert refused.returncode != 0, refused.stdout
    resource = "clusterrolebindings" if namespace is None else "rolebindings"
    assert "(Forbidden)" in refused.stderr, refused.stderr
    assert f'cannot create resource "{resource}" in API group "{RBAC}"' in refused.stderr, (
        refused.stderr
    )


# Everything the operator holds, from the apiserver's own rules review (what
# `kubectl auth can-i --list` prints), as (API group, resource, resource name or ""): verbs.
# Cluster-wide rules, seen from every namespace:
HELD_EVERYWHERE = {
    ("wasmgate.dev", "wasmplugins", ""): "get list patch watch",
    ("wasmgate.dev", "wasmschedulers", ""): "get list patch watch",
    ("wasmgate.dev", "wasmplugins/status", ""): "get patch",
    ("wasmgate.dev", "wasmschedulers/status", ""): "get patch",
    ("wasmgate.dev", "wasmtrustpolicies/status", ""): "get patch",
    ("wasmgate.dev", "wasmtrustpolicies", ""): "get list watch",
    ("wasmgate.dev", "wasmnodecaches", ""): "get list watch",
    ("", "nodes", ""): "get list watch",
    ("", "namespaces", ""): "get list watch",
    ("apiextensions.k8s.io", "customresourcedefinitions", ""): "get list watch",
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", ""): "create",
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", "wasmgate.dev"): (
        "get patch update"
    ),
    # system:basic-user, bound to system:authenticated by every apiserver.
    ("authorization.k8s.io", "selfsubjectaccessreviews", ""): "create",
    ("authorization.k8s.io", "selfsubjectrulesreviews", ""): "create",
    ("authentication.k8s.io", "selfsubjectreviews", ""): "create",
}
# Added in wasmgate-system only (the Role wasmgate-operator):
HELD_IN_NAMESPACE = {
    ("", "secrets", ""): "create get list watch",
    ("", "secrets", "wasmgate-webhook-ca"): "update",
    ("kopf.dev", "kopfpeerings", ""): "get list patch watch",
    ("", "events", ""): "create patch",
    ("events.k8s.io", "events", ""): "create patch",
    ("", "configmaps", ""): "create delete get list patch watch",
    ("", "serviceaccounts", "wasmgate-scheduler"): "get",
    ("", "pods", ""): "get list watch",
    ("apps", "deployments", ""): "create get list patch watch",
}
# system:discovery and system:public-info-viewer (every authenticated identity), and
# system:service-account-issuer-discovery (every ServiceAccount).
HELD_URLS = {
    "/.well-known/openid-configuration": "get",
    "/.well-known/openid-configuration/": "get",
    "/openid/v1/jwks": "get",
    "/openid/v1/jwks/": "get",
    "/api": "get",
    "/api/*": "get",
    "/apis": "get",
    "/apis/*": "get",
    "/healthz": "get",
    "/livez": "get",
    "/openapi": "get",
    "/openapi/*": "get",
    "/readyz": "get",
    "/version": "get",
    "/version/": "get",
}


def _rules_review(kit: KitHandle, namespace: str) -> tuple[dict[Any, str], dict[str, str]]:
    """What the operator may do as seen from `namespace`: resource and non-resource rules (the
    SelfSubjectRulesReview `kubectl auth can-i --list` prints, here as JSON)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    answer = _as_operator(kit, "create", "-f", "-", "-o", "json", document=review)
    assert answer.returncode == 0, answer.stderr
    status = json.loads(answer.stdout)["status"]
    assert not status.get("incomplete"), status
    held: dict[Any, set[str]] = {}
    for rule in status.get("resourceRules") or []:
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources") or []:
                for name in rule.get("resourceNames") or [""]:
                    held.setdefault((group, resource, name), set()).update(rule["verbs"])
    urls: dict[str, set[str]] = {}
    for rule in status.get("nonResourceRules") or []:
        for url in rule["nonResourceURLs"]:
            urls.setdefault(url, set()).update(rule["verbs"])
    return (
        {key: " ".join(sorted(verbs)) for key, verbs in held.items()},
        {url: " ".join(sorted(verbs)) for url, verbs in urls.items()},
    )


def test_the_operator_holds_exactly_the_listed_rules_in_every_namespace(
    rbac_applied: KitHandle,
) -> None:
    listed = rbac_applied.kubectl("get", "namespaces", "-o", "name").stdout.split()
    namespaces = sorted(name.removeprefix("namespace/") for name in listed)
    assert NAMESPACE in namespaces and "kube-system" in namespaces
    for namespace in namespaces:
        held, urls = _rules_review(rbac_applied, namespace)
        expected = dict(HELD_EVERYWHERE)
        if namespace == NAMESPACE:
            expected.update(HELD_IN_NAMESPACE)
        assert held == expected, (namespace, held)
        assert urls == HELD_URLS, (namespace, urls)
        # Spelled out, though the tables above already exclude it: nothing that grants.
        assert not [key for key in held if key[0] == RBAC], (namespace, held)
        assert not [key for key, verbs in held.items() if {"*", "bind", "escalate",
                    "impersonate"} & set(verbs.split())], (namespace, held)  # fmt: skip
        assert not [key for key in held if "*" in key], (namespace, held)


# --- The Deployments it may write run as the scheduler, unprivileged --------------------------
#
# Creating Deployments in wasmgate-system (Pod Security `privileged`, for the hostPath store)
# would otherwise let the operator run a pod as any ServiceAccount there, or as root on a node.
# deploy/operator/admission-policy.yaml holds its Deployments to what rollout/deployment.py
# builds; each case below changes one thing in a real build and is tried as the operator. (Its
# rule against privileged containers cannot be shown here: the kit's apiserver runs with
# --allow-privileged=false and refuses them before any admission policy sees them.)


def _scheduler_deployment() -> dict[str, Any]:
    scheduler = WasmScheduler.model_validate(
        {"metadata": {"name": "policy-test", "uid": "u"}, "spec": {"image": "example/s:v1"}}
    )
    return build_deployment(scheduler, "policy-test-config-0123456789abcdef")


def _pod(deployment: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def _as_account(d: dict[str, Any]) -> None:
    _pod(d)["serviceAccountName"] = "wasmgate-operator"


def _escalating(d: dict[str, Any]) -> None:
    _pod(d)["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] = True


def _capability(d: dict[str, Any]) -> None:
    _pod(d)["containers"][0]["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN"]


def _root(d: dict[str, Any]) -> None:
    _pod(d)["containers"][0]["securityContext"]["runAsNonRoot"] = False


def _host_root(d: dict[str, Any]) -> None:
    _pod(d)["volumes"].append({"name": "host", "hostPath": {"path": "/"}})


def _writable_store(d: dict[str, Any]) -> None:
    for mount in _pod(d)["containers"][0]["volumeMounts"]:
        if mount["name"] == "store":
            mount["readOnly"] = False


def _host_pid(d: dict[str, Any]) -> None:
    _pod(d)["hostPID"] = True


REFUSED_DEPLOYMENTS = [
    (_as_account, "only as ServiceAccount wasmgate-scheduler, not wasmgate-operator"),
    (_escalating, "must not be privileged"),
    (_capability, "may add no capability"),
    (_root, "may not run as root"),
    (_host_root, "no hostPath but /var/lib/wasmgate/store"),
    (_writable_store, "mount the node store read-only"),
    (_host_pid, "PID or IPC namespace"),
]


def _create_as_operator(
    kit: KitHandle, deployment: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    return _as_operator(kit, "create", "--dry-run=server", "-f", "-", document=deployment)


@pytest.mark.parametrize(
    ("change", "message"), REFUSED_DEPLOYMENTS, ids=[c.__name__[1:] for c, _ in REFUSED_DEPLOYMENTS]
)
def test_the_operator_may_not_create_another_kind_of_pod(
    rbac_applied: KitHandle, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    deployment = _scheduler_deployment()
    change(deployment)

    # A new policy binding takes effect a moment after it is created.
    def refusal() -> str:
        answer = _create_as_operator(rbac_applied, deployment)
        assert "ValidatingAdmissionPolicy" in answer.stderr, answer.stdout + answer.stderr
        return answer.stderr

    refused = wait_for(refusal, what="the operator's Deployment policy to refuse", timeout=30)
    assert "wasmgate-operator-scheduler-pods" in refused, refused
    assert message in refused, refused


def test_the_operator_may_create_the_scheduler_deployment_it_builds(
    rbac_applied: KitHandle,
) -> None:
    """After the refusals above (so the policy is in force): the real build passes it."""
    created = _create_as_operator(rbac_applied, _scheduler_deployment())
    assert created.returncode == 0, created.stderr
    assert "created (server dry run)" in created.stdout
