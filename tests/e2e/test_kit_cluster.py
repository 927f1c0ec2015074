"""The kit's Kubernetes is real: nodes Ready, Deployments roll out, CRDs are served."""

from __future__ import annotations

import json

from kubernetes import client

from support.kit import KitHandle
from wasmgate_kit.nodes import DEFAULT_NODE_COUNT, kit_node_name
from wasmgate_kit.wait import wait_for


def test_kubectl_lists_kwok_nodes_ready(kit: KitHandle) -> None:
    out = kit.kubectl("get", "nodes", "-o", "json").stdout
    nodes = {item["metadata"]["name"]: item for item in json.loads(out)["items"]}
    expected = {kit_node_name(i) for i in range(DEFAULT_NODE_COUNT)}
    assert expected <= set(nodes)
    for name in expected:
        ready = [c for c in nodes[name]["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", f"{name}: {ready}"


def test_apiserver_enforces_rbac_for_unprivileged_identities(kit: KitHandle) -> None:
    result = kit.kubectl(
        "auth",
        "can-i",
        "create",
        "deployments",
        "--as=system:serviceaccount:default:nobody",
        check=False,
    )
    assert result.stdout.strip() == "no"
    assert kit.kubectl("auth", "can-i", "create", "deployments").stdout.strip() == "yes"


def test_deployment_with_two_replicas_becomes_available(kit: KitHandle) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "kit-smoke", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "kit-smoke"}},
            "template": {
                "metadata": {"labels": {"app": "kit-smoke"}},
                "spec": {"containers": [{"name": "app", "image": "example.invalid/app:v1"}]},
            },
        },
    }
    kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps(deployment))
    with kit.api_client() as api:
        apps = client.AppsV1Api(api)

        def available() -> int | None:
            status = apps.read_namespaced_deployment("kit-smoke", "default").status
            return status.available_replicas if status.available_replicas == 2 else None

        assert wait_for(available, what="kit-smoke 2/2 available", timeout=90) == 2
        pods = client.CoreV1Api(api).list_namespaced_pod("default", label_selector="app=kit-smoke")
        assert {p.spec.node_name for p in pods.items} <= {
            kit_node_name(i) for i in range(DEFAULT_NODE_COUNT)
        }
        assert all(p.status.phase == "Running" for p in pods.items)


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.kit.wasmgate.dev"},
    "spec": {
        "group": "kit.wasmgate.dev",
        "scope": "Cluster",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "integer", "maximum": 10}},
                            }
                        },
                    }
                },
            }
        ],
    },
}


def test_custom_resource_definition_is_served_and_objects_round_trip(kit: KitHandle) -> None:
    kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps(CRD))
    gadget = {
        "apiVersion": "kit.wasmgate.dev/v1",
        "kind": "Gadget",
        "metadata": {"name": "g1"},
        "spec": {"size": 7},
    }
    wait_for(
        lambda: (
            kit.run(
                "kubectl", "apply", "-f", "-", input_text=json.dumps(gadget), check=False
            ).returncode
            == 0
        ),
        what="the Gadget CRD to be served",
        timeout=30,
    )
    read = json.loads(kit.kubectl("get", "gadget", "g1", "-o", "json").stdout)
    assert read["spec"] == {"size": 7}
    too_big = {**gadget, "metadata": {"name": "g2"}, "spec": {"size": 11}}
    refused = kit.run("kubectl", "apply", "-f", "-", input_text=json.dumps(too_big), check=False)
    assert refused.returncode != 0
    assert "spec.size" in refused.stderr
