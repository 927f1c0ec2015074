"""Trust-material fingerprints: what re-verifies a plugin and what does not."""

from __future__ import annotations

from typing import Any

import pytest

from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.api.wasmtrustpolicy import WasmTrustPolicySpec
from wasmgate.reconcile.deps import NamedPolicy
from wasmgate.reconcile.material import plugin_secret_refs, trust_material

KEY_REF = {"secretRef": {"name": "keys", "namespace": "ns"}}
PLUGIN = {
    "source": {
        "image": "registry.example/p/filter:v1",
        "pullSecretRef": {"name": "pull", "namespace": "ns"},
    },
    "verify": {"keys": [KEY_REF]},
}
VERSIONS = {("ns", "keys"): "uid-1:10", ("ns", "pull"): "uid-2:20", ("ns", "cluster"): "uid-3:30"}
POLICY = NamedPolicy(
    "cluster",
    WasmTrustPolicySpec.model_validate(
        {"keys": [{"secretRef": {"name": "cluster", "namespace": "ns"}}]}
    ),
)


def _material(
    plugin: dict[str, Any] = PLUGIN,
    versions: dict[tuple[str, str], str] = VERSIONS,
    policies: tuple[NamedPolicy, ...] = (POLICY,),
) -> dict[str, str]:
    spec = WasmPluginSpec.model_validate(plugin)
    return trust_material(spec, policies, lambda ns, name: versions.get((ns, name)))


def _with(key: tuple[str, str], value: str | None) -> dict[tuple[str, str], str]:
    versions = {k: v for k, v in VERSIONS.items() if k != key}
    if value is not None:
        versions[key] = value
    return versions


def test_the_same_inputs_give_the_same_fingerprints() -> None:
    assert _material() == _material()
    assert set(_material()) == {"pullSecret", "policies", "trust"}


@pytest.mark.parametrize(
    ("changed", "moves"),
    [
        (_material(versions=_with(("ns", "keys"), "uid-1:11")), {"trust"}),
        (_material(versions=_with(("ns", "keys"), None)), {"trust"}),
        (_material(versions=_with(("ns", "pull"), "uid-2:21")), {"trust", "pullSecret"}),
        (_material(versions=_with(("ns", "cluster"), "uid-3:31")), {"trust", "policies"}),
        (_material(policies=()), {"trust", "policies"}),
        (_material(versions=_with(("other", "unrelated"), "uid-9:1")), set()),
    ],
    ids=[
        "key-secret-edited",
        "key-secret-deleted",
        "pull-secret-edited",
        "policy-key-secret-edited",
        "policy-removed",
        "unrelated-secret",
    ],
)
def test_a_change_moves_exactly_the_fingerprints_that_depend_on_it(
    changed: dict[str, str], moves: set[str]
) -> None:
    original = _material()
    assert {name for name in original if original[name] != changed[name]} == moves


def test_fingerprints_hold_no_secret_material() -> None:
    material = _material()
    assert all(value.startswith("sha256:") and len(value) == 71 for value in material.values())


def test_plugin_secret_refs_name_pull_secret_and_keys() -> None:
    refs = plugin_secret_refs(WasmPluginSpec.model_validate(PLUGIN))
    assert [(r.namespace, r.name) for r in refs] == [("ns", "pull"), ("ns", "keys")]
