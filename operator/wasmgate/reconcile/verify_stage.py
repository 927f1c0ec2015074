"""The verify stage: the resolved digest must carry a signature the plugin and cluster trust.

Its result depends on the digest and the trust material (keys, policies, pull secret): when
neither changed, the recorded result stands and no registry request is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wasmgate.api.base import rfc3339
from wasmgate.api.conditions import PluginCondition
from wasmgate.api.formats import MAX_DETAIL_LENGTH
from wasmgate.api.signature_status import (
    MAX_REJECTED_SIGNATURES,
    SignatureDiscovery,
    SignatureFormat,
)
from wasmgate.errors import InvalidSpec
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.reference import parse_reference
from wasmgate.reconcile.deps import StageDeps
from wasmgate.reconcile.mirror import mirror_inputs
from wasmgate.reconcile.pipeline import PluginView, Stage, StageResult, fingerprint
from wasmgate.reconcile.policy import build_policy, check_registry_allowed
from wasmgate.reconcile.secrets import pull_credentials
from wasmgate.reconcile.signature_store import RegistrySignatureStore
from wasmgate.trust import candidates
from wasmgate.trust.verify import VerificationResult, verify

FORMATS = {
    candidates.SignatureFormat.LEGACY: SignatureFormat.COSIGN_SIMPLE_SIGNING,
    candidates.SignatureFormat.BUNDLE: SignatureFormat.SIGSTORE_BUNDLE,
}
DISCOVERIES = {
    candidates.Discovery.SIG_TAG: SignatureDiscovery.COSIGN_TAG,
    candidates.Discovery.REFERRERS_API: SignatureDiscovery.REFERRERS_API,
    candidates.Discovery.FALLBACK_TAG: SignatureDiscovery.REFERRERS_TAG,
}
MAX_CANDIDATE_LENGTH = 512
NOT_REQUIRED_REASON = "SignatureNotRequired"


@dataclass(frozen=True)
class _Subject:
    registry: str
    repository: str
    digest: str


def signature_status(result: VerificationResult, verified_at: str) -> dict[str, Any]:
    """status.signature from a verification: the signer that matched and the rejections."""
    match = result.primary
    signer: dict[str, Any] = (
        {"identity": match.identity[:MAX_DETAIL_LENGTH], "issuer": match.issuer[:MAX_DETAIL_LENGTH]}
        if match.identity is not None and match.issuer is not None
        else {"keyFingerprint": f"sha256:{match.fingerprint}"}
    )
    return {
        "format": FORMATS[match.format].value,
        "discovery": DISCOVERIES[match.discovery].value,
        **signer,
        "verifiedAt": verified_at,
        "rejected": [
            {
                "candidate": r.location[:MAX_CANDIDATE_LENGTH],
                "reason": f"{r.reason}: {r.message}"[:MAX_DETAIL_LENGTH],
            }
            for r in result.rejected[:MAX_REJECTED_SIGNATURES]
        ],
    }


def verify_stage(deps: StageDeps) -> Stage:
    """The stage, bound to this pass's clients and policies."""

    def run(view: PluginView) -> StageResult:
        digest = view.status.get("digest")
        if not isinstance(digest, str):
            raise InvalidSpec("status.digest is missing; the plugin must be resolved first")
        ref = parse_reference(view.spec.source.image)
        check_registry_allowed(ref.name, digest, deps.policies)
        policy = build_policy(view.spec, deps.policies, deps.read_secret)
        if policy is None:
            return StageResult(
                {"signature": None},
                f"{digest}: no enforcing WasmTrustPolicy requires a signature and spec.verify "
                "is absent; not verified",
            )
        credentials = pull_credentials(view.spec, deps.read_secret)
        # Judged for the reference the user wrote; read where a registry mirror keeps a copy.
        subject = _Subject(ref.registry, ref.repository, digest)
        at = deps.registry.mirror_of(ref) or ref
        with RegistryClient(at.registry, deps.registry, credentials, at.repository) as client:
            store = RegistrySignatureStore(client, read_from=at.repository)
            result = verify(subject, policy, store, deps.trust)
        match = result.primary
        signer = (
            f"{match.identity} (issuer {match.issuer}, keyless)"
            if match.identity is not None
            else f"{match.key_name} (sha256:{match.fingerprint[:16]}…, {match.algorithm})"
        )
        return StageResult(
            {"signature": signature_status(result, rfc3339(deps.clock()))},
            f"{digest} signed by {signer}, {FORMATS[match.format].value} found via "
            f"{DISCOVERIES[match.discovery].value}",
        )

    def inputs(view: PluginView) -> str:
        return fingerprint(
            "verify",
            view.status.get("digest"),
            view.material.get("trust", ""),
            *mirror_inputs(deps.registry, view.spec.source.image),
        )

    return Stage(
        name="verify",
        condition=PluginCondition.VERIFIED,
        success_reason="Verified",
        run=run,
        inputs=inputs,
        owns=("signature",),
    )
