"""WasmPlugin status: the operator's record of every pipeline step, written with its generation.

Each step stores its result here (the digest it resolved, the signer that matched, the exports
it found, the nodes that staged the bytes), so a restarted operator resumes instead of starting
over, and `kubectl describe` answers "why is my plugin not loaded?". The blocks a single step
writes live beside this module: signature_status, validation_status, staging_status.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from wasmgate.api.base import ApiModel
from wasmgate.api.condition import Conditions
from wasmgate.api.formats import Digest
from wasmgate.api.signature_status import SignatureStatus
from wasmgate.api.staging_status import StagingStatus
from wasmgate.api.validation_status import ValidationStatus

SHORT_DIGEST_LENGTH = 12
# A registry host (at most 255), a repository path, a tag (128) and a sha256 digest (71).
MAX_REFERENCE_LENGTH = 1024


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


def short_digest(digest: str) -> str:
    """The first hex digits of a digest, as the DIGEST column shows them."""
    return digest.partition(":")[2][:SHORT_DIGEST_LENGTH]


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


MAX_RECORDED_STAGES = 8
"""Bound on status.stageInputs entries: the pipeline has three stages, with room to grow."""


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
    stage_inputs: dict[str, Digest] | None = Field(
        None,
        max_length=MAX_RECORDED_STAGES,
        description="Pipeline stage (resolve, verify, validate) -> sha256 of the inputs its "
        "recorded result was computed from (the spec fields, trust material and policies it "
        "read). A stage whose inputs are unchanged is not run again; written in the same patch "
        "as the result it describes.",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_short_digest(cls, data: Any) -> Any:
        if isinstance(data, dict) and "shortDigest" not in data and "short_digest" not in data:
            digest = data.get("digest")
            if isinstance(digest, str):
                return {**data, "shortDigest": short_digest(digest)}
        return data
