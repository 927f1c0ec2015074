"""What trust needs from a registry, as a protocol, so the trust stage never imports `oci`.

Stages exchange plain data; the operator hands `verify` a registry client, and
`wasmgate.oci.RegistryClient` satisfies this protocol structurally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class DescriptorLike(Protocol):
    """An OCI content descriptor."""

    @property
    def media_type(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def annotations(self) -> Mapping[str, str]: ...
    @property
    def artifact_type(self) -> str | None: ...


class ManifestLike(Protocol):
    """A parsed, digest-checked manifest or index."""

    @property
    def digest(self) -> str: ...
    @property
    def layers(self) -> Sequence[DescriptorLike]: ...
    @property
    def manifests(self) -> Sequence[DescriptorLike]: ...
    @property
    def artifact_type(self) -> str | None: ...
    @property
    def subject(self) -> DescriptorLike | None: ...


class SignatureStore(Protocol):
    """Read access to the repository holding the signed artifact."""

    def manifest_or_none(self, repository: str, reference: str) -> ManifestLike | None:
        """A manifest by tag or digest, or None when absent."""
        ...

    def referrers(self, repository: str, digest: str, artifact_type: str) -> ManifestLike | None:
        """The referrers index, or None when the registry has no referrers API."""
        ...

    def blob_bytes(self, repository: str, layer: DescriptorLike, max_bytes: int) -> bytes:
        """A small blob, checked against its digest."""
        ...


class Subject(Protocol):
    """The resolved artifact being verified (`wasmgate.oci.Resolved` is one)."""

    @property
    def registry(self) -> str: ...
    @property
    def repository(self) -> str: ...
    @property
    def digest(self) -> str: ...
