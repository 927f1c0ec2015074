"""The policy a plugin must meet: its own keys AND every enforcing WasmTrustPolicy."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.api.wasmtrustpolicy import WasmTrustPolicySpec
from wasmgate.errors import InvalidSpec, PolicyViolation, WasmgateError
from wasmgate.reconcile.deps import NamedPolicy
from wasmgate.reconcile.policy import (
    build_policy,
    check_registry_allowed,
    max_module_bytes,
)
from wasmgate.trust.keyless import KeylessPolicy
from wasmgate.trust.policy import AllOf, AnyOf, KeyPolicy
from wasmgate.trust.trusted_root import PRODUCTION_NAME


def _pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(pem).decode()


SECRETS = {
    ("ns", "keys"): {"cosign.pub": _pem()},
    ("ns", "cluster"): {"cosign.pub": _pem()},
    ("ns", "root"): {"trusted_root.json": base64.b64encode(b'{"mediaType": "x"}').decode()},
}


def _read(namespace: str, name: str) -> dict[str, str]:
    found = SECRETS.get((namespace, name))
    if found is None:
        raise InvalidSpec(f"Secret {namespace}/{name} does not exist")
    return found


def _spec(verify: dict[str, Any] | None = None, max_size: int | None = None) -> WasmPluginSpec:
    source: dict[str, Any] = {"image": "registry.example/p/filter:v1"}
    if max_size is not None:
        source["maxSize"] = max_size
    return WasmPluginSpec.model_validate({"source": source, "verify": verify})


def _policy(name: str, **spec: Any) -> NamedPolicy:
    return NamedPolicy(name, WasmTrustPolicySpec.model_validate(spec))


OWN_KEYS = {"keys": [{"secretRef": {"name": "keys", "namespace": "ns"}}]}
CLUSTER_KEYS = [{"secretRef": {"name": "cluster", "namespace": "ns"}}]
KEYLESS = {"keyless": [{"issuer": "https://token.actions.githubusercontent.com", "subject": "me"}]}


def test_the_plugin_keys_alone_make_a_key_policy() -> None:
    policy = build_policy(_spec(OWN_KEYS), [], _read)
    assert isinstance(policy, KeyPolicy)
    assert policy.name == "spec.verify.keys"
    assert [k.name for k in policy.keys] == ["Secret ns/keys key cosign.pub"]


def test_cluster_keys_are_required_on_top_of_the_plugin_keys() -> None:
    policy = build_policy(_spec(OWN_KEYS), [_policy("corp", keys=CLUSTER_KEYS)], _read)
    assert isinstance(policy, AllOf)
    assert [p.describe().split(" (")[0] for p in policy.policies] == [
        "spec.verify.keys",
        "WasmTrustPolicy corp",
    ]


def test_keyless_alone_uses_the_embedded_public_root() -> None:
    policy = build_policy(_spec(KEYLESS), [], _read)
    assert isinstance(policy, KeylessPolicy)
    assert policy.name == "spec.verify.keyless"
    assert policy.root.name == PRODUCTION_NAME
    assert [i.describe() for i in policy.identities] == [
        "me from https://token.actions.githubusercontent.com"
    ]


def test_keys_and_keyless_of_one_object_are_alternatives() -> None:
    policy = build_policy(_spec({**OWN_KEYS, **KEYLESS}), [_policy("corp", **KEYLESS)], _read)
    assert isinstance(policy, AllOf)
    own, cluster = policy.policies
    assert isinstance(own, AnyOf)
    assert [type(p) for p in own.policies] == [KeyPolicy, KeylessPolicy]
    assert isinstance(cluster, KeylessPolicy)
    assert cluster.name == "WasmTrustPolicy corp"


def test_a_warn_mode_policy_is_left_to_admission() -> None:
    policy = build_policy(_spec(OWN_KEYS), [_policy("try", mode="Warn", keys=CLUSTER_KEYS)], _read)
    assert isinstance(policy, KeyPolicy)


def test_no_policy_is_needed_only_when_an_enforcing_policy_allows_unsigned_plugins() -> None:
    assert build_policy(_spec(), [_policy("lab", signatureRequired=False)], _read) is None


@pytest.mark.parametrize(
    ("spec", "policies", "error", "message"),
    [
        (_spec(), [], PolicyViolation, "spec.verify is absent and no WasmTrustPolicy names a key"),
        (
            _spec(),
            [_policy("strict")],
            PolicyViolation,
            "add spec.verify.keys",
        ),
        (
            _spec({"keys": [{"secretRef": {"name": "gone", "namespace": "ns"}}]}),
            [],
            InvalidSpec,
            "Secret ns/gone does not exist",
        ),
        (
            _spec({"keys": [{"secretRef": {"name": "keys", "namespace": "ns", "key": "x.pub"}}]}),
            [],
            InvalidSpec,
            "spec.verify.keys[0]: Secret ns/keys has no key 'x.pub'",
        ),
        (
            _spec({**KEYLESS, "trustedRootRef": {"name": "keys", "namespace": "ns"}}),
            [],
            InvalidSpec,
            "spec.verify.trustedRootRef: Secret ns/keys has no key 'trusted_root.json'",
        ),
        (
            _spec({**KEYLESS, "trustedRootRef": {"name": "root", "namespace": "ns"}}),
            [],
            InvalidSpec,
            "key trusted_root.json: not a usable sigstore trusted root",
        ),
    ],
    ids=[
        "nothing-names-a-signer",
        "policy-requires-signature-plugin-names-none",
        "key-secret-missing",
        "key-entry-missing",
        "trusted-root-entry-missing",
        "trusted-root-not-a-root",
    ],
)
def test_refusals_name_the_field_and_the_fix(
    spec: WasmPluginSpec, policies: list[NamedPolicy], error: type[WasmgateError], message: str
) -> None:
    with pytest.raises(error) as raised:
        build_policy(spec, policies, _read)
    assert type(raised.value) is error
    assert message in raised.value.message


def test_allowed_registries_of_an_enforcing_policy_are_checked() -> None:
    policies = [
        _policy("corp", allowedRegistries=["registry.example/p/*"], signatureRequired=False)
    ]
    check_registry_allowed("registry.example/p/filter", "sha256:" + "a" * 64, policies)
    with pytest.raises(PolicyViolation) as raised:
        check_registry_allowed("evil.example/p/filter", "sha256:" + "a" * 64, policies)
    assert "evil.example/p/filter is not in WasmTrustPolicy corp" in raised.value.message


def test_a_policy_max_size_lowers_the_plugin_cap() -> None:
    policies = [_policy("corp", maxSize=4096, signatureRequired=False)]
    assert max_module_bytes(_spec(max_size=8192), policies) == 4096
    assert max_module_bytes(_spec(max_size=2048), policies) == 2048
    assert max_module_bytes(_spec(max_size=2048), []) == 2048
