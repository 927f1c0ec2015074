"""The agent's RBAC and admission policy, applied to the kit's real apiserver.

Requests impersonate the agent's ServiceAccount with the node-name extra that a bound pod
token carries, so RBAC and the ValidatingAdmissionPolicy judge them as they would judge the
agent of that node.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.kit import KitHandle
from support.staging_kit import REPO_ROOT, apply_crds, delete_if_present
from support.staging_kit import build_node_cache_body as cache_body
from wasmgate.api.base import GROUP, VERSION
from wasmgate_kit.wait import wait_for

pytestmark = pytest.mark.e2e

AGENT = "system:serviceaccount:wasmgate-system:wasmgate-agent"
NODE_NAME_EXTRA = "authentication.kubernetes.io%2fnode-name"
DEPLOY = REPO_ROOT / "deploy" / "agent"


def _as_agent(kit: KitHandle, node: str | None) -> client.CustomObjectsApi:
    api = kit.api_client()
    api.default_headers["Impersonate-User"] = AGENT
    api.default_headers["Impersonate-Group"] = "system:serviceaccounts"
    if node is not None:
        api.default_headers[f"Impersonate-Extra-{NODE_NAME_EXTRA}"] = node
    return client.CustomObjectsApi(api)


def _create(api: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    created: dict[str, Any] = api.create_cluster_custom_object(
        GROUP, VERSION, "wasmnodecaches", cache_body(name)
    )
    return created


@pytest.fixture
def nodes(kit: KitHandle) -> Iterator[tuple[str, str]]:
    apply_crds(kit.kubectl)
    for name in ("namespace.yaml", "rbac.yaml", "admission-policy.yaml"):
        kit.kubectl("apply", "-f", DEPLOY / name)
    suffix = uuid.uuid4().hex[:6]
    pair = (f"vap-a-{suffix}", f"vap-b-{suffix}")
    agent = _as_agent(kit, pair[0])

    # A new policy binding becomes effective a moment after it is created.
    def refused_for_other_node() -> str | None:
        try:
            _create(agent, pair[1])
        except ApiException as e:
            return e.body if e.status == 403 and "its own node" in (e.body or "") else None
        with kit.api_client() as admin:
            delete_if_present(admin, "wasmnodecaches", pair[1])
        return None

    wait_for(refused_for_other_node, what="the admission policy to refuse", timeout=30)
    yield pair
    with kit.api_client() as admin:
        for name in pair:
            delete_if_present(admin, "wasmnodecaches", name)


def test_an_agent_may_write_its_own_nodes_cache_only(
    kit: KitHandle, nodes: tuple[str, str]
) -> None:
    own, other = nodes
    agent = _as_agent(kit, own)
    with pytest.raises(ApiException) as create_other:
        _create(agent, other)
    assert create_other.value.status == 403
    assert f"this token is for {own}, the object is {other}" in (create_other.value.body or "")

    _create(agent, own)
    agent.patch_cluster_custom_object_status(
        GROUP, VERSION, "wasmnodecaches", own, {"status": {"usedBytes": 1}}
    )
    _create(_as_agent(kit, other), other)
    with pytest.raises(ApiException) as patch_other:
        agent.patch_cluster_custom_object_status(
            GROUP, VERSION, "wasmnodecaches", other, {"status": {"usedBytes": 1}}
        )
    assert patch_other.value.status == 403
    assert f"this token is for {own}, the object is {other}" in (patch_other.value.body or "")


def test_a_token_without_a_node_claim_is_refused(kit: KitHandle, nodes: tuple[str, str]) -> None:
    with pytest.raises(ApiException) as caught:
        _create(_as_agent(kit, None), nodes[0])
    assert caught.value.status == 403, caught.value.body
    assert "this token is for no node" in (caught.value.body or "")


@pytest.mark.parametrize(
    ("verb", "call"),
    [
        ("delete wasmplugins", lambda api: api.delete_cluster_custom_object(
            GROUP, VERSION, "wasmplugins", "anything")),
        ("patch wasmplugins/status", lambda api: api.patch_cluster_custom_object_status(
            GROUP, VERSION, "wasmplugins", "anything", {"status": {}})),
        ("delete wasmnodecaches", lambda api: api.delete_cluster_custom_object(
            GROUP, VERSION, "wasmnodecaches", "anything")),
    ],
    ids=["delete-plugins", "write-plugin-status", "delete-caches"],
)  # fmt: skip
def test_rbac_refuses_what_the_agent_never_needs(
    kit: KitHandle, nodes: tuple[str, str], verb: str, call: Any
) -> None:
    with pytest.raises(ApiException) as caught:
        call(_as_agent(kit, nodes[0]))
    assert caught.value.status == 403, verb
    assert "cannot" in (caught.value.body or "")


def test_the_agent_reads_secrets_only_in_its_namespace(kit: KitHandle) -> None:
    allowed = kit.kubectl("auth", "can-i", "get", "secrets", "-n", "wasmgate-system",
                          f"--as={AGENT}", check=False)  # fmt: skip
    elsewhere = kit.kubectl("auth", "can-i", "get", "secrets", "-n", "default",
                            f"--as={AGENT}", check=False)  # fmt: skip
    assert (allowed.stdout.strip(), elsewhere.stdout.strip()) == ("yes", "no")
