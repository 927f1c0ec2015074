"""deploy/ read as files: the CRD list is complete, the pods are locked down, the args parse.

The e2e test (tests/e2e/test_deploy_manifests.py) shows the apiserver accepts the base; these
checks catch what it cannot: a CRD generated but not listed, a container that may write its root
filesystem, or a flag the manifests pass that `wasmgate run` or `wasmgate agent` no longer has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from wasmgate.api.generate import crd_files
from wasmgate.cli import build_parser

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
NAME = "wasmgate-operator"
WORKLOADS = {
    "operator": DEPLOY / "operator" / "deployment.yaml",
    "agent": DEPLOY / "agent" / "daemonset.yaml",
}


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def pod_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = load(WORKLOADS[name])[0]["spec"]["template"]["spec"]
    return spec


def test_the_crd_kustomization_lists_every_generated_crd() -> None:
    listed = yaml.safe_load((REPO_ROOT / "crds" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(crd_files()), (
        "crds/kustomization.yaml is stale: list exactly the files `make crds` generates"
    )


@pytest.mark.parametrize("name", sorted(WORKLOADS), ids=sorted(WORKLOADS))
def test_every_container_is_locked_down(name: str) -> None:
    pod = pod_spec(name)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert (context["readOnlyRootFilesystem"], context["allowPrivilegeEscalation"]) == (
            True,
            False,
        ), container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert "memory" in container["resources"]["limits"], container["name"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts, f"{container['name']}: HOME and TMPDIR are /tmp; mount a volume"


def test_the_only_privileged_step_is_the_agents_chown() -> None:
    init = pod_spec("agent")["initContainers"]
    assert [c["name"] for c in init] == ["own-store"]
    assert init[0]["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    assert init[0]["command"][0] == "chown"


@pytest.mark.parametrize(("name", "subcommand"), [("operator", "run"), ("agent", "agent")],
                         ids=["operator", "agent"])  # fmt: skip
def test_the_manifest_args_parse(name: str, subcommand: str) -> None:
    args = pod_spec(name)["containers"][0]["args"]
    assert args[0] == subcommand
    argv = [a.replace("$(NODE_NAME)", "node-1") for a in args]
    parsed = build_parser(argv).parse_args(argv)
    assert parsed.command == subcommand


def test_the_operator_watches_secrets_only_where_its_rbac_allows() -> None:
    args = pod_spec("operator")["containers"][0]["args"]
    parsed = build_parser(args).parse_args(args)
    documents = load(DEPLOY / "operator" / "rbac.yaml")
    role = next(d for d in documents if (d["kind"], d["metadata"]["name"]) == ("Role", NAME))
    secret_rules = [r for r in role["rules"] if "secrets" in r["resources"]]
    assert parsed.namespace == [role["metadata"]["namespace"]]
    ca_secret = parsed.webhook_ca_secret.split("/")
    assert ca_secret[0] == role["metadata"]["namespace"]
    assert secret_rules == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [ca_secret[1]],
            "verbs": ["update"],
        },
    ]


def test_services_point_at_named_container_ports() -> None:
    ports = {p["name"] for p in pod_spec("operator")["containers"][0]["ports"]}
    args = pod_spec("operator")["containers"][0]["args"]
    parsed = build_parser(args).parse_args(args)
    for service in load(DEPLOY / "operator" / "service.yaml"):
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, service["metadata"]["name"]
    webhook = next(s for s in load(DEPLOY / "operator" / "service.yaml")
                   if s["metadata"]["name"] == "wasmgate-webhook")  # fmt: skip
    namespace, name = webhook["metadata"]["namespace"], webhook["metadata"]["name"]
    assert parsed.webhook_service == f"{namespace}/{name}:{webhook['spec']['ports'][0]['port']}"
