"""WasmPlugin status.signature: which signature let the plugin through, and why the others did not.

Kept apart from the other status blocks because the trust step alone writes it, and an operator
reading "SignatureInvalid" needs every rejected candidate next to its reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from wasmgate.api.base import ApiModel, Timestamp
from wasmgate.api.formats import MAX_DETAIL_LENGTH, Digest

MAX_REJECTED_SIGNATURES = 16


class SignatureFormat(StrEnum):
    """How the accepted signature was packaged."""

    COSIGN_SIMPLE_SIGNING = "CosignSimpleSigning"
    SIGSTORE_BUNDLE = "SigstoreBundle"


class SignatureDiscovery(StrEnum):
    """Where the accepted signature was found."""

    COSIGN_TAG = "CosignTag"
    REFERRERS_API = "ReferrersAPI"
    REFERRERS_TAG = "ReferrersTag"


class RejectedSignature(ApiModel):
    """A signature that was examined and did not satisfy the policy."""

    candidate: str = Field(
        min_length=1,
        max_length=512,
        description="Which signature: its format, where it was found and the signer it names, "
        "e.g. CosignTag sha256-3f8b...sig layer 0, key sha256:9a1c....",
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_DETAIL_LENGTH,
        description="Why it was rejected, e.g. signed by a key no policy lists, payload digest "
        "names another manifest.",
    )


class SignatureStatus(ApiModel):
    """The signature that verified, and why the others did not."""

    format: SignatureFormat | None = Field(
        None,
        description="CosignSimpleSigning (cosign's legacy .sig tag) or SigstoreBundle "
        "(a sigstore bundle, cosign v3's default).",
    )
    discovery: SignatureDiscovery | None = Field(
        None,
        description="Where it was found: CosignTag (the sha256-<hex>.sig tag), ReferrersAPI "
        "(OCI 1.1 referrers endpoint) or ReferrersTag (the sha256-<hex> fallback index).",
    )
    key_fingerprint: Digest | None = Field(
        None,
        description="For key signatures: sha256 of the DER public key that verified, as "
        "sha256:<hex>; compare with `openssl pkey -pubin -outform DER | sha256sum`.",
    )
    identity: str | None = Field(
        None,
        max_length=MAX_DETAIL_LENGTH,
        description="For keyless signatures: the certificate subject that matched.",
    )
    issuer: str | None = Field(
        None,
        max_length=MAX_DETAIL_LENGTH,
        description="For keyless signatures: the certificate's OIDC issuer.",
    )
    verified_at: Timestamp | None = Field(
        None, description="When the signature was last verified (RFC 3339, UTC)."
    )
    rejected: Annotated[list[RejectedSignature], Field(max_length=MAX_REJECTED_SIGNATURES)] = Field(
        default_factory=list,
        description="Signatures examined and rejected, with the reason; at most "
        f"{MAX_REJECTED_SIGNATURES} are listed.",
    )
