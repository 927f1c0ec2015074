"""Fingerprints of the trust material outside a WasmPlugin, and the Secrets it references.

A Secret is represented by its uid and resourceVersion, not by a hash of its bytes: any edit
re-verifies, and nothing derived from a password (a pull secret) ever reaches an annotation.
Policies are represented by their specs. The verify stage re-runs exactly when this changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wasmgate.api.refs import SecretRef
from wasmgate.api.signers import KeyRef
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.reconcile.deps import NamedPolicy
from wasmgate.reconcile.pipeline import fingerprint

SecretVersion = Callable[[str, str], str | None]
"""(namespace, name) -> "uid:resourceVersion" of the Secret, or None when it does not exist."""


def _key_refs(keys: Sequence[KeyRef]) -> list[SecretRef]:
    return [key.secret_ref for key in keys]


def plugin_secret_refs(spec: WasmPluginSpec) -> list[SecretRef]:
    """Every Secret the plugin's spec names: pull secret, verification keys, trusted root."""
    refs: list[SecretRef] = []
    if spec.source.pull_secret_ref is not None:
        refs.append(spec.source.pull_secret_ref)
    if spec.verify is not None:
        refs.extend(_key_refs(spec.verify.keys))
        if spec.verify.trusted_root_ref is not None:
            refs.append(spec.verify.trusted_root_ref)
    return refs


def policy_secret_refs(policy: NamedPolicy) -> list[SecretRef]:
    """Every Secret a WasmTrustPolicy names."""
    refs = _key_refs(policy.spec.keys)
    if policy.spec.trusted_root_ref is not None:
        refs.append(policy.spec.trusted_root_ref)
    return refs


def _versions(refs: Sequence[SecretRef], version: SecretVersion) -> list[tuple[str, str | None]]:
    return [(f"{r.namespace}/{r.name}", version(r.namespace, r.name)) for r in refs]


def trust_material(
    spec: WasmPluginSpec, policies: Sequence[NamedPolicy], version: SecretVersion
) -> dict[str, str]:
    """Hashes of the outside inputs: "pullSecret", "policies" and "trust" (all of it)."""
    pull = spec.source.pull_secret_ref
    pull_hash = fingerprint("pull", _versions([pull], version)) if pull else ""
    ordered = sorted(policies, key=lambda p: p.name)
    policies_hash = fingerprint(
        "policies",
        [
            (p.name, p.spec.model_dump(mode="json"), _versions(policy_secret_refs(p), version))
            for p in ordered
        ],
    )
    verify = spec.verify.model_dump(mode="json") if spec.verify is not None else None
    trust_hash = fingerprint(
        "trust",
        verify,
        _versions(plugin_secret_refs(spec), version),
        policies_hash,
        pull_hash,
    )
    return {"pullSecret": pull_hash, "policies": policies_hash, "trust": trust_hash}
