"""The pure parts of `wasmgate verify`: the plugin it judges and the Warn-mode what-if."""

from __future__ import annotations

from wasmgate.cluster_verdict import as_enforced, plugin_body, warn_policies


def test_the_reference_replaces_the_image_and_keeps_the_rest_of_the_spec() -> None:
    spec = {
        "source": {"image": "old.example/x:v0", "pullSecretRef": {"namespace": "n", "name": "p"}},
        "verify": {"keys": [{"secretRef": {"namespace": "n", "name": "k"}}]},
    }

    body = plugin_body("registry.example/team/x:v1", spec)

    assert body["spec"]["source"] == {
        "image": "registry.example/team/x:v1",
        "pullSecretRef": {"namespace": "n", "name": "p"},
    }
    assert body["spec"]["verify"] == spec["verify"]
    assert spec["source"]["image"] == "old.example/x:v0"  # the caller's spec is not changed
    assert plugin_body("r.example/x:v1", None)["spec"] == {"source": {"image": "r.example/x:v1"}}


def test_warn_policies_are_evaluated_as_if_enforced() -> None:
    policies = [("a", {"mode": "Enforce"}), ("b", {"mode": "Warn", "keys": []}), ("c", {})]

    assert warn_policies(policies) == ["b"]
    assert as_enforced(policies, ["b"]) == [
        ("a", {"mode": "Enforce"}),
        ("b", {"mode": "Enforce", "keys": []}),
        ("c", {}),
    ]
