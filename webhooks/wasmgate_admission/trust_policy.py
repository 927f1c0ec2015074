"""What each WasmTrustPolicy says about one plugin, before anything is pulled.

Admission can judge only what the spec shows: where the plugin comes from and whether anyone is
named to sign it. Whether the signature verifies is the operator's job at reconcile time, which
is also where every policy is enforced a second time (the webhook fails open, see
docs/admission.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wasmgate.api.registry_glob import glob_matches
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.oci.reference import Reference


def violations(policy: Mapping[str, Any], spec: WasmPluginSpec, reference: Reference) -> list[str]:
    """Sentences naming each requirement of `policy` the plugin spec breaks, with the fix."""
    name = policy.get("metadata", {}).get("name", "?")
    rules = policy.get("spec") or {}
    found: list[str] = []
    allowed = rules.get("allowedRegistries") or []
    if allowed and not any(glob_matches(pattern, reference.name) for pattern in allowed):
        found.append(
            f"spec.source.image: {reference.name} is not in the registries WasmTrustPolicy "
            f"{name} allows ({', '.join(allowed)}); push the plugin to one of them or ask the "
            "cluster admin to extend spec.allowedRegistries"
        )
    signers_named = spec.verify is not None or rules.get("keys") or rules.get("keyless")
    if rules.get("signatureRequired", True) and not signers_named:
        found.append(
            f"spec.verify: WasmTrustPolicy {name} requires a signature, but neither the plugin "
            "nor the policy names a signer; add spec.verify.keys (a cosign public key Secret) "
            "or spec.verify.keyless (issuer and subject)"
        )
    return found


def size_warning(policy: Mapping[str, Any], spec: WasmPluginSpec) -> str | None:
    """A note when the policy's maxSize lowers the plugin's own cap (it is not a violation)."""
    cap = (policy.get("spec") or {}).get("maxSize")
    if cap is None or spec.source.max_size <= cap:
        return None
    name = policy.get("metadata", {}).get("name", "?")
    return (
        f"spec.source.maxSize: {spec.source.max_size} bytes is above WasmTrustPolicy {name}'s "
        f"maxSize {cap}; artifacts larger than {cap} bytes fail with ArtifactTooLarge. Lower "
        f"spec.source.maxSize to at most {cap} to say so in the spec"
    )
