"""The trust policy one plugin must meet: its own spec.verify AND every enforcing WasmTrustPolicy.

This is where the cluster policy is enforced by the operator, because the admission webhook can
be down. Decisions (design §4, api-decisions.md):
- A plugin passes when a signature verifies against one of its own keys AND each enforcing
  policy's keys (when it names keys). Policies in Warn mode are left to admission.
- No signer anywhere (no spec.verify and no policy keys) is refused unless an enforcing policy
  says `signatureRequired: false`: an empty policy never means "allow all".
- Keyless identities need sigstore's certificate path, which the trust stage does not offer yet;
  a plugin or policy that relies on them alone is refused with a message saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

from wasmgate.api.signers import KeyRef
from wasmgate.api.wasmplugin import WasmPluginSpec
from wasmgate.api.wasmtrustpolicy import PolicyMode
from wasmgate.errors import InvalidSpec, PolicyViolation
from wasmgate.reconcile.deps import NamedPolicy, SecretReader
from wasmgate.reconcile.secrets import load_keys
from wasmgate.trust.policy import AllOf, Evidence, KeyPolicy, Policy, RegistryAllowList

KEYLESS_UNSUPPORTED = (
    "keyless (certificate) verification is not available in this wasmgate build; "
    "sign with a key and list it under keys"
)


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


def _key_policy(
    keys: Sequence[KeyRef], keyless: int, read_secret: SecretReader, field: str, name: str
) -> KeyPolicy | None:
    if keys:
        return KeyPolicy(load_keys(keys, read_secret, field), name)
    if keyless:
        raise InvalidSpec(f"{field.removesuffix('.keys')}.keyless: {KEYLESS_UNSUPPORTED}")
    return None


def build_policy(
    spec: WasmPluginSpec, policies: Sequence[NamedPolicy], read_secret: SecretReader
) -> Policy | None:
    """The combined policy, or None when no enforcing policy requires a signature and the
    plugin names no signer."""
    parts: list[Policy] = []
    if spec.verify is not None:
        own = _key_policy(
            spec.verify.keys,
            len(spec.verify.keyless),
            read_secret,
            "spec.verify.keys",
            "spec.verify.keys",
        )
        if own is not None:
            parts.append(own)
    required = False
    for policy in enforcing(policies):
        required = required or policy.spec.signature_required
        cluster = _key_policy(
            policy.spec.keys,
            len(policy.spec.keyless),
            read_secret,
            f"WasmTrustPolicy {policy.name} spec.keys",
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
        "this plugin; add spec.verify.keys (a Secret holding cosign.pub), or a WasmTrustPolicy "
        "with keys (or with signatureRequired: false to run unsigned plugins)"
    )
