"""Parse OCI and Docker manifests and indexes into checked, typed descriptors.

The bytes come from a registry we do not control: every field is checked for type and shape
before use, so a malformed manifest is an `ArtifactInvalid` with the field that is wrong, never
a KeyError deep in the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wasmgate.errors import ArtifactInvalid, ArtifactTooLarge, WasmgateError
from wasmgate.oci.reference import check_digest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_TYPES + INDEX_TYPES)


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about one blob or manifest."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None


@dataclass(frozen=True)
class Manifest:
    """An image manifest or an index, with the digest of the exact bytes it was parsed from."""

    digest: str
    media_type: str
    size: int
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        """Whether this lists manifests rather than layers."""
        return self.media_type in INDEX_TYPES


def _annotations(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ArtifactInvalid(f"{where}.annotations must map strings to strings")
    return dict(value)


def _optional_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArtifactInvalid(f"{where} must be a string")
    return value


def parse_descriptor(value: Any, where: str) -> Descriptor:
    """Check and convert one descriptor object."""
    if not isinstance(value, dict):
        raise ArtifactInvalid(f"{where} must be an object")
    media_type = value.get("mediaType")
    size = value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ArtifactInvalid(f"{where}.mediaType must be a non-empty string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ArtifactInvalid(f"{where}.size must be a non-negative integer")
    try:
        digest = check_digest(value.get("digest"), f"{where}.digest")  # type: ignore[arg-type]
    except WasmgateError as e:
        raise ArtifactInvalid(e.message) from e
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        annotations=_annotations(value.get("annotations"), where),
        artifact_type=_optional_str(value.get("artifactType"), f"{where}.artifactType"),
    )


def _descriptors(value: Any, where: str, max_count: int) -> tuple[Descriptor, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ArtifactInvalid(f"{where} must be a list")
    if len(value) > max_count:
        raise ArtifactTooLarge(f"{where} lists {len(value)} entries; the cap is {max_count}")
    return tuple(parse_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value))


def parse_manifest(
    data: bytes, digest: str, content_type: str | None, max_entries: int
) -> Manifest:
    """Parse manifest or index bytes (already digest-checked) into a `Manifest`."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ArtifactInvalid(f"manifest {digest} is not JSON") from e
    if not isinstance(document, dict):
        raise ArtifactInvalid(f"manifest {digest} is not a JSON object")
    if document.get("schemaVersion") != 2:
        raise ArtifactInvalid(
            f"manifest {digest} has schemaVersion {document.get('schemaVersion')!r}; only 2 is "
            "supported (push with a current docker, oras or wasmgate push)"
        )
    declared = _optional_str(document.get("mediaType"), "mediaType")
    header = (content_type or "").split(";")[0].strip() or None
    media_type = declared or header
    if media_type is None:
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if media_type not in MANIFEST_TYPES + INDEX_TYPES:
        raise ArtifactInvalid(f"manifest {digest} has unsupported media type {media_type!r}")
    where = "index" if media_type in INDEX_TYPES else "manifest"
    config = None
    if where == "manifest":
        config = parse_descriptor(document.get("config"), "manifest.config")
    subject = document.get("subject")
    return Manifest(
        digest=digest,
        media_type=media_type,
        size=len(data),
        config=config,
        layers=_descriptors(document.get("layers"), f"{where}.layers", max_entries),
        manifests=_descriptors(document.get("manifests"), f"{where}.manifests", max_entries),
        subject=parse_descriptor(subject, f"{where}.subject") if subject is not None else None,
        artifact_type=_optional_str(document.get("artifactType"), f"{where}.artifactType"),
        annotations=_annotations(document.get("annotations"), where),
    )
