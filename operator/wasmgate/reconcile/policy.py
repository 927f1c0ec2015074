"""The trust policy one plugin must meet: its own spec.verify AND every enforcing WasmTrustPolicy.

This is where the cluster policy is enforced by the operator, because the admission webhook can
be down. Decisions (design §4, api-decisions.md):
- A plugin passes when a signature verifies against one of its own keys AND each enforcing
  policy's keys (when it names keys). Policies in Warn mode are left to admission.
- No signer anywhere (no spec.verify and no policy keys) is refused unless an enforcing policy
  says `signatureRequired: false`: an empty policy never means "allow all".
- Keys and keyless identities of one object are alternatives (any of); each object's trusted
  root (`trustedRootRef`, else the embedded public-good root) checks its own keyless identities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from wasmgate.api.refs import TrustedRootSecretRef
from wasmgate.api.signers import KeylessIdentity, KeyRef
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.api.wasmtrustpolicy import PolicyMode
from wasmgate.errors import PolicyViolation
from wasmgate.reconcile.deps import NamedPolicy, SecretReader
from wasmgate.reconcile.secrets import keyless_identities, load_keys, load_root
from wasmgate.trust.keyless import KeylessPolicy
from wasmgate.trust.policy import AllOf, AnyOf, Evidence, KeyPolicy, Policy, RegistryAllowList


class Signers(Protocol):
    """What spec.verify and a WasmTrustPolicy spec share: who may sign."""

    @property
    def keys(self) -> Sequence[KeyRef]: ...

    @property
    def keyless(self) -> Sequence[KeylessIdentity]: ...

    @property
    def trusted_root_ref(self) -> TrustedRootSecretRef | None: ...


def enforcing(policies: Sequence[NamedPolicy]) -> list[NamedPolicy]:
    """The policies the operator enforces (mode Enforce)."""
    return [p for p in policies if p.spec.mode == PolicyMode.ENFORCE]


def check_registry_allowed(name: str, digest: str, policies: Sequence[NamedPolicy]) -> None:
    """Raise PolicyViolation unless `registry/repository` is allowed by every enforcing policy."""
    for policy in enforcing(policies):
        if policy.spec.allowed_registries:
            allow = RegistryAllowList(
                policy.spec.allowed_registries,
                f"WasmTrustPolicy {policy.name} spec.allowedRegistries",
            )
            allow.verify(Evidence(name, digest, []))


def max_module_bytes(spec: WasmPluginSpec, policies: Sequence[NamedPolicy]) -> int:
    """spec.source.maxSize, lowered by any enforcing policy's maxSize."""
    caps = [p.spec.max_size for p in enforcing(policies) if p.spec.max_size is not None]
    return min([spec.source.max_size, *caps])


def _signer_policy(
    signers: Signers, read_secret: SecretReader, field: str, name: str | None = None
) -> Policy | None:
    """Keys and keyless identities of one object (any of), or None when it names neither.
    Parts are named after their fields unless `name` names the whole object."""
    parts: list[Policy] = []
    if signers.keys:
        keys = load_keys(signers.keys, read_secret, f"{field}.keys")
        parts.append(KeyPolicy(keys, name or f"{field}.keys"))
    if signers.keyless:
        root = load_root(signers.trusted_root_ref, read_secret, f"{field}.trustedRootRef")
        identities = keyless_identities(signers.keyless)
        parts.append(KeylessPolicy(identities, root, name or f"{field}.keyless"))
    if len(parts) > 1:
        return AnyOf(parts, name or field)
    return parts[0] if parts else None


def build_policy(
    spec: WasmPluginSpec, policies: Sequence[NamedPolicy], read_secret: SecretReader
) -> Policy | None:
    """The combined policy, or None when no enforcing policy requires a signature and the
    plugin names no signer."""
    parts: list[Policy] = []
    if spec.verify is not None:
        own = _signer_policy(spec.verify, read_secret, "spec.verify")
        if own is not None:
            parts.append(own)
    required = False
    for policy in enforcing(policies):
        required = required or policy.spec.signature_required
        cluster = _signer_policy(
            policy.spec,
            read_secret,
            f"WasmTrustPolicy {policy.name} spec",
            f"WasmTrustPolicy {policy.name}",
        )
        if cluster is not None:
            parts.append(cluster)
    if parts:
        return parts[0] if len(parts) == 1 else AllOf(parts, "plugin and cluster policies")
    if enforcing(policies) and not required:
        return None
    raise PolicyViolation(
        "spec.verify is absent and no WasmTrustPolicy names a key, so nothing could vouch for "
        "this plugin; add spec.verify.keys (a Secret holding cosign.pub) or spec.verify.keyless "
        "(issuer and subject), or a WasmTrustPolicy with keys or keyless (or with "
        "signatureRequired: false to run unsigned plugins)"
    )
