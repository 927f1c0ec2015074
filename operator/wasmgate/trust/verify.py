"""Verify that a resolved digest is signed the way the policy demands, and say how we know.

The steps, each one helper: (1) resolve: the subject must be pinned to a digest; (2) fetch
signatures from the registry; (3) check that each payload names this digest; (4) check that it
names this repository; (5) check the policy (keys). The result names the key that matched, the
format and the discovery path, and why every other candidate failed. Registry outages and auth
failures propagate as they are, so they are never reported as bad signatures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from wasmgate import metrics
from wasmgate.errors import (
    DigestMismatch,
    InvalidSpec,
    SignatureDigestMismatch,
    SignatureIdentityMismatch,
    SignatureInvalid,
    SignatureLimitExceeded,
    SignatureMissing,
    SignatureUntrusted,
    WasmgateError,
)
from wasmgate.trust.candidates import Candidate, Rejection, SignatureCheck
from wasmgate.trust.discovery import Found, find_signatures
from wasmgate.trust.identity import repository_name
from wasmgate.trust.policy import Evidence, Match, Policy
from wasmgate.trust.settings import TrustSettings
from wasmgate.trust.store import SignatureStore, Subject

_ERRORS: dict[str, type[WasmgateError]] = {
    cls.reason: cls
    for cls in (
        DigestMismatch,
        SignatureInvalid,
        SignatureUntrusted,
        SignatureDigestMismatch,
        SignatureIdentityMismatch,
        SignatureLimitExceeded,
    )
}
MAX_LISTED_REJECTIONS = 8
VERIFIED_REASON = "Verified"


@dataclass(frozen=True)
class VerificationResult:
    """Which signatures satisfied the policy and why the others did not."""

    digest: str
    matches: tuple[Match, ...]
    rejected: tuple[Rejection, ...]
    policy: str

    @property
    def primary(self) -> Match:
        """The first match; what status shows as the signer."""
        return self.matches[0]


def verification_key(digest: str, policy: Policy) -> str:
    """A key for "this digest passed this exact policy": when a recorded key still equals it, the
    earlier verdict holds and no registry request is needed; a key edited in its Secret, a new
    digest (a moved tag) or a changed cluster policy gives a new key and a new verification."""
    return hashlib.sha256(f"{digest}\n{policy.identity()}".encode()).hexdigest()


def _summary(rejections: list[Rejection]) -> str:
    if not rejections:
        return ""
    shown = [f"{r.reason}: {r.message}" for r in rejections[:MAX_LISTED_REJECTIONS]]
    more = len(rejections) - len(shown)
    return " | ".join(shown) + (f" | and {more} more" if more > 0 else "")


def _resolved_digest(subject: Subject) -> str:
    digest = subject.digest
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise InvalidSpec(
            f"{subject.registry}/{subject.repository}: verification needs a resolved digest, "
            f"got {digest!r}"
        )
    return digest


def _fetch_signatures(store: SignatureStore, subject: Subject, settings: TrustSettings) -> Found:
    found = find_signatures(store, subject, settings)
    if not found.candidates and not found.rejections:
        name = f"{subject.registry}/{subject.repository}"
        raise SignatureMissing(
            f"{name}@{subject.digest} is not signed (looked at {', '.join(found.looked_at)}); "
            f"sign it with `cosign sign --key cosign.key {name}@{subject.digest}`"
        )
    return found


def _check_payload_digest(
    candidates: list[Candidate], digest: str, rejections: list[Rejection]
) -> list[Candidate]:
    kept = []
    for candidate in candidates:
        if candidate.claimed_digest == digest:
            kept.append(candidate)
            continue
        rejections.append(
            Rejection(
                candidate.location,
                SignatureCheck.DIGEST,
                SignatureDigestMismatch.reason,
                f"{candidate.location}: signs {candidate.claimed_digest}, not {digest}; it was "
                "copied from another artifact. Sign this digest",
                candidate.format,
                candidate.discovery,
            )
        )
    return kept


def _check_identity(
    candidates: list[Candidate], subject: Subject, rejections: list[Rejection]
) -> list[Candidate]:
    expected = repository_name(f"{subject.registry}/{subject.repository}")
    kept = []
    for candidate in candidates:
        claimed = candidate.claimed_repository
        if claimed is None or repository_name(claimed) == expected:
            kept.append(candidate)
            continue
        rejections.append(
            Rejection(
                candidate.location,
                SignatureCheck.IDENTITY,
                SignatureIdentityMismatch.reason,
                f"{candidate.location}: signs repository {claimed}, not {expected}; a signature "
                "from another repository does not count here. Sign the artifact in this "
                "repository",
                candidate.format,
                candidate.discovery,
            )
        )
    return kept


def _check_policy(policy: Policy, evidence: Evidence, rejections: list[Rejection]) -> None:
    if not evidence.candidates:
        best = max(rejections, key=lambda r: r.failed_check)
        raise _ERRORS.get(best.reason, SignatureInvalid)(
            f"{evidence.name}@{evidence.digest}: no usable signature. {_summary(rejections)}"
        )
    try:
        policy.verify(evidence)
    except WasmgateError as e:
        everything = rejections + evidence.rejections
        raise type(e)(f"{e.message}. {_summary(everything)}") from e


def verify(
    subject: Subject,
    policy: Policy,
    store: SignatureStore,
    settings: TrustSettings | None = None,
) -> VerificationResult:
    """Verify `subject`'s digest against `policy`, reading signatures through `store`."""
    try:
        result = _verify(subject, policy, store, settings or TrustSettings())
    except WasmgateError as e:
        metrics.record_verification("rejected", e.reason)
        raise
    metrics.record_verification("verified", VERIFIED_REASON)
    return result


def _verify(
    subject: Subject, policy: Policy, store: SignatureStore, settings: TrustSettings
) -> VerificationResult:
    # 1. resolve: only a pinned digest can be verified.
    digest = _resolved_digest(subject)
    # 2. fetch signatures: legacy .sig tag, then bundles via referrers or the fallback tag.
    found = _fetch_signatures(store, subject, settings)
    rejections = list(found.rejections)
    # 3. check payload digest: each payload must sign exactly this manifest digest.
    candidates = _check_payload_digest(found.candidates, digest, rejections)
    # 4. check identity: a payload naming a repository must name this one.
    candidates = _check_identity(candidates, subject, rejections)
    # 5. check policy: the keys (and any cluster rules) must accept a remaining candidate.
    evidence = Evidence(f"{subject.registry}/{subject.repository}", digest, candidates)
    _check_policy(policy, evidence, rejections)
    matched = {m.location for m in evidence.matches}
    others = [r for r in rejections + evidence.rejections if r.location not in matched]
    return VerificationResult(digest, tuple(evidence.matches), tuple(others), policy.describe())
