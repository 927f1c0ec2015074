"""WasmPlugin status: the operator's record of every pipeline step, written with its generation.

Each step stores its result here (the digest it resolved, the signer that matched, the exports
it found, the nodes that staged the bytes), so a restarted operator resumes instead of starting
over, and `kubectl describe` answers "why is my plugin not loaded?". Lists that grow with the
cluster are capped: the counts stay exact, the lists name the first few.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, model_validator

from wasmgate.api.base import ApiModel, Timestamp
from wasmgate.api.condition import Conditions
from wasmgate.api.formats import DIGEST_PATTERN, DNS_SUBDOMAIN_PATTERN, REASON_PATTERN
from wasmgate.api.listtypes import MapList, SetList

MAX_REJECTED_SIGNATURES = 16
MAX_FAILING_NODES = 20
MAX_IMPORTS = 128
MAX_DETAIL_LENGTH = 1024
MAX_VALIDATION_WARNINGS = 16
MAX_HELD_FOR = 8
SHORT_DIGEST_LENGTH = 12
# A registry host (at most 255), a repository path, a tag (128) and a sha256 digest (71).
MAX_REFERENCE_LENGTH = 1024

Digest = Annotated[str, Field(max_length=71, pattern=DIGEST_PATTERN)]


class Phase(StrEnum):
    """Where a WasmPlugin stands in the pipeline."""

    PENDING = "Pending"
    RESOLVING = "Resolving"
    VERIFYING = "Verifying"
    VALIDATING = "Validating"
    STAGING = "Staging"
    ROLLING_OUT = "RollingOut"
    READY = "Ready"
    FAILED = "Failed"


class ArtifactLayout(StrEnum):
    """Which OCI layout the artifact used."""

    WASM_ARTIFACT = "WasmArtifact"
    ORAS_LAYER = "OrasLayer"
    COMPAT_IMAGE = "CompatImage"


class SignatureFormat(StrEnum):
    """How the accepted signature was packaged."""

    COSIGN_SIMPLE_SIGNING = "CosignSimpleSigning"
    SIGSTORE_BUNDLE = "SigstoreBundle"


class SignatureDiscovery(StrEnum):
    """Where the accepted signature was found."""

    COSIGN_TAG = "CosignTag"
    REFERRERS_API = "ReferrersAPI"
    REFERRERS_TAG = "ReferrersTag"


class ExtensionPoint(StrEnum):
    """A scheduling framework extension point, named as the guest module exports it."""

    ENQUEUE = "enqueue"
    PREFILTER = "prefilter"
    FILTER = "filter"
    POSTFILTER = "postfilter"
    PRESCORE = "prescore"
    SCORE = "score"
    NORMALIZESCORE = "normalizescore"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    PERMIT = "permit"
    PREBIND = "prebind"
    BIND = "bind"
    POSTBIND = "postbind"
    ADDPOD = "addpod"
    REMOVEPOD = "removepod"


def short_digest(digest: str) -> str:
    """The first hex digits of a digest, as the DIGEST column shows them."""
    return digest.partition(":")[2][:SHORT_DIGEST_LENGTH]


def staging_summary(ready: int, desired: int) -> str:
    """The STAGED column: nodes ready / nodes desired."""
    return f"{ready}/{desired}"


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


class WasmImport(ApiModel):
    """One function the module imports from the host."""

    module: str = Field(
        min_length=1,
        max_length=256,
        description="Import module, e.g. k8s.io/scheduler or wasi_snapshot_preview1.",
    )
    name: str = Field(
        min_length=1, max_length=256, description="Imported function, e.g. get_config."
    )


class ExtensionPointCost(ApiModel):
    """What one extension point cost in the dry run."""

    extension_point: ExtensionPoint = Field(description="The export that was called.")
    fuel: int = Field(ge=0, description="Wasmtime fuel consumed (about one unit per instruction).")
    duration_microseconds: int = Field(
        ge=0, description="Wall-clock time of the call, in microseconds."
    )


class ValidationStatus(ApiModel):
    """What validation found in the module: its ABI surface and dry-run costs."""

    exports: Annotated[list[ExtensionPoint], Field(max_length=len(ExtensionPoint)), SetList()] = (
        Field(
            default_factory=list,
            description="Extension points the module exports, e.g. filter, score.",
        )
    )
    imports: Annotated[
        list[WasmImport], Field(max_length=MAX_IMPORTS), MapList(keys=("module", "name"))
    ] = Field(default_factory=list, description="Host functions the module imports.")
    costs: Annotated[
        list[ExtensionPointCost],
        Field(max_length=len(ExtensionPoint)),
        MapList(keys=("extensionPoint",)),
    ] = Field(
        default_factory=list,
        description="Dry-run cost of each exported extension point on a synthetic cluster.",
    )
    memory_pages: int | None = Field(
        None,
        ge=0,
        description="Linear memory the guest held after the dry run, in 64 KiB pages.",
    )
    warnings: Annotated[
        list[Annotated[str, Field(max_length=MAX_DETAIL_LENGTH)]],
        Field(max_length=MAX_VALIDATION_WARNINGS),
    ] = Field(
        default_factory=list,
        description=(
            "What upstream's scheduler tolerates but looks risky, e.g. an export it never calls "
            "or a trap in postbind that it only logs. Warnings never block the plugin."
        ),
    )


class FailingNode(ApiModel):
    """A node that could not stage the plugin."""

    node: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="Node name.",
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_DETAIL_LENGTH,
        pattern=REASON_PATTERN,
        description="CamelCase cause reported by the node's agent, e.g. DigestMismatch or "
        "RegistryUnavailable.",
    )
    message: str = Field(
        "",
        max_length=MAX_DETAIL_LENGTH,
        description="The agent's detail, from the node's WasmNodeCache.",
    )


class StagingStatus(ApiModel):
    """How many nodes hold the verified bytes: the scheduler rolls only when all do."""

    ready: int = Field(0, ge=0, description="Nodes whose store holds the verified layer.")
    desired: int = Field(
        0,
        ge=0,
        description="Nodes that need it: those matching the node selector and tolerations of "
        "any WasmScheduler that loads the plugin.",
    )
    summary: str = Field(
        "0/0",
        max_length=23,
        pattern="^[0-9]+/[0-9]+$",
        description="ready/desired as text, e.g. 3/3 (the STAGED column); derived from ready "
        "and desired when omitted.",
    )
    failing_nodes: Annotated[
        list[FailingNode], Field(max_length=MAX_FAILING_NODES), MapList(keys=("node",))
    ] = Field(
        default_factory=list,
        description=f"Nodes that failed to stage, with the reason; at most {MAX_FAILING_NODES} "
        "are listed.",
    )
    held_for: Annotated[
        list[Annotated[str, Field(max_length=MAX_DETAIL_LENGTH)]],
        Field(max_length=MAX_HELD_FOR),
    ] = Field(
        default_factory=list,
        description="Live WasmScheduler revisions for which the nodes keep this plugin's module "
        "although the plugin may not be loaded now (Verified or Validated is not True for its "
        "current generation, e.g. while the registry is unreachable). The schedulers keep "
        "running it; nothing new is rolled until the plugin passes again.",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_summary(cls, data: Any) -> Any:
        if isinstance(data, dict) and "summary" not in data:
            summary = staging_summary(data.get("ready", 0), data.get("desired", 0))
            return {**data, "summary": summary}
        return data


class SourceStatus(ApiModel):
    """The artifact as resolved: the reference it is judged as, and where its bytes came from."""

    image: str = Field(
        min_length=1,
        max_length=MAX_REFERENCE_LENGTH,
        description="spec.source.image normalized and pinned to the resolved digest, e.g. "
        "registry.example.com/team/filter:v1@sha256:.... Signatures, keyless identities and "
        "WasmTrustPolicies are judged for this reference, even when a mirror served the bytes.",
    )
    mirror: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_REFERENCE_LENGTH,
        description="When a registry mirror (`wasmgate run --registry-mirror PREFIX=MIRROR`) "
        "covers image: the mirror's reference at the same digest, from which the manifest, the "
        "module and the signatures were read (node agents read it too). Absent without a mirror.",
    )


class WasmPluginStatus(ApiModel):
    """Progress of the plugin through resolve, verify, validate, stage and roll out."""

    phase: Phase = Field(
        Phase.PENDING,
        description="Pending, Resolving, Verifying, Validating, Staging, RollingOut, Ready or "
        "Failed; derived from the conditions, which hold the detail.",
    )
    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation of the spec this status describes."
    )
    digest: Digest | None = Field(
        None,
        description="Manifest digest the image resolved to; every later step uses it, never "
        "the tag.",
    )
    short_digest: str | None = Field(
        None,
        max_length=SHORT_DIGEST_LENGTH,
        pattern=f"^[a-f0-9]{{{SHORT_DIGEST_LENGTH}}}$",
        description="First 12 hex digits of digest (the DIGEST column); derived from digest "
        "when omitted.",
    )
    layer_digest: Digest | None = Field(
        None,
        description="Digest of the wasm module bytes; the name under which nodes store them.",
    )
    layout: ArtifactLayout | None = Field(
        None,
        description="Artifact layout detected: WasmArtifact (CNCF wasm config and "
        "application/wasm layer), OrasLayer (single-layer oras push) or CompatImage (image "
        "whose last layer holds plugin.wasm).",
    )
    size: int | None = Field(None, ge=0, description="Size of the wasm module, in bytes.")
    source: SourceStatus | None = Field(
        None,
        description="The resolved reference, and the registry mirror it was read from if any.",
    )
    signature: SignatureStatus | None = Field(
        None, description="The signature that verified, and the ones that did not."
    )
    validation: ValidationStatus | None = Field(
        None, description="Exports, imports and dry-run costs found by validation."
    )
    staging: StagingStatus | None = Field(
        None, description="Nodes that hold the verified plugin, out of the nodes that need it."
    )
    conditions: Conditions = Field(
        default_factory=list,
        description="Resolved, Verified, Validated, Staged, RolledOut and Ready, in Kubernetes "
        "condition conventions.",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_short_digest(cls, data: Any) -> Any:
        if isinstance(data, dict) and "shortDigest" not in data and "short_digest" not in data:
            digest = data.get("digest")
            if isinstance(digest, str):
                return {**data, "shortDigest": short_digest(digest)}
        return data
