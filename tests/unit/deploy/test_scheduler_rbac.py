"""deploy/scheduler/rbac.yaml read as files: it installs the identity the operator's scheduler
Deployments name, with everything a second kube-scheduler needs, since the operator creates none.

The e2e tests (tests/e2e/test_deploy_manifests.py) show the apiserver enforces it; these catch a
rename on one side only (a Deployment naming an account nobody binds would create no pod).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from support.rollout_samples import entry, scheduler
from wasmgate.rollout.config import build_scheduler_config
from wasmgate.rollout.deployment import build_deployment
from wasmgate.rollout.rbac import RBAC_MANIFEST, SCHEDULER_SERVICE_ACCOUNT
from wasmgate.rollout.settings import RolloutConfig

REPO_ROOT = Path(__file__).resolve().parents[3]
MANIFEST = REPO_ROOT / RBAC_MANIFEST
SETTINGS = RolloutConfig()


def _documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d]


def _subject() -> dict[str, str]:
    return {
        "kind": "ServiceAccount",
        "name": SCHEDULER_SERVICE_ACCOUNT,
        "namespace": SETTINGS.namespace,
    }


def test_the_manifest_is_part_of_the_scheduler_kustomization() -> None:
    listed = yaml.safe_load((MANIFEST.parent / "kustomization.yaml").read_text())["resources"]
    assert MANIFEST.name in listed


@pytest.mark.parametrize("name", ["wasmgate-scheduler", "team-b"], ids=["default", "another"])
def test_every_scheduler_deployment_runs_as_the_installed_account(name: str) -> None:
    ws = scheduler(schedulerName=name)
    pod = build_deployment(ws, "c-config-00")["spec"]["template"]["spec"]
    [account] = [d for d in _documents() if d["kind"] == "ServiceAccount"]
    assert pod["serviceAccountName"] == account["metadata"]["name"] == SCHEDULER_SERVICE_ACCOUNT
    assert account["metadata"]["namespace"] == SETTINGS.namespace


def test_the_account_holds_what_kube_scheduler_holds() -> None:
    bound = {
        (d["kind"], d["metadata"].get("namespace"), d["roleRef"]["kind"], d["roleRef"]["name"])
        for d in _documents()
        if d["kind"] in ("ClusterRoleBinding", "RoleBinding")
    }
    assert bound == {
        ("ClusterRoleBinding", None, "ClusterRole", "system:kube-scheduler"),
        ("ClusterRoleBinding", None, "ClusterRole", "system:volume-scheduler"),
        ("RoleBinding", "kube-system", "Role", "extension-apiserver-authentication-reader"),
        ("RoleBinding", SETTINGS.namespace, "Role", "wasmgate-scheduler:leader-election"),
    }
    for document in _documents():
        if document["kind"].endswith("Binding"):
            assert document["subjects"] == [_subject()], document["metadata"]["name"]


def test_the_lease_role_covers_the_lease_the_config_names() -> None:
    config = build_scheduler_config(scheduler(schedulerName="team-b"), [entry("a")])
    election = config["leaderElection"]
    [role] = [d for d in _documents() if d["kind"] == "Role"]
    assert role["metadata"]["namespace"] == election["resourceNamespace"]
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        }
    ]
    assert election["resourceLock"] == "leases"
