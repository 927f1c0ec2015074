"""Turn a user's reference into the exact manifest digest and wasm layer we will use.

Tags move; digests do not. Resolution happens once, the digest is recorded, and everything after
(signature checks, node pulls) names the digest. A digest pin in the spec must agree with what
the tag resolves to, so a moved tag is caught rather than silently followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wasmgate.errors import ArtifactTooLarge, DigestMismatch
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.layout import Layout, detect_layout
from wasmgate.oci.manifest import Descriptor
from wasmgate.oci.reference import Reference, check_digest, parse_reference
from wasmgate.oci.settings import RegistrySettings


@dataclass(frozen=True)
class Resolved:
    """A reference pinned to its manifest digest, with the layer that carries the module."""

    reference: Reference
    """The reference as given, with `digest` set to the resolved manifest digest: the identity
    signatures and policies are judged for."""
    layout: Layout
    layer: Descriptor
    """The wasm layer (for the compat layout: the tar layer holding plugin.wasm)."""
    manifest_media_type: str
    manifest_size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    mirror: Reference | None = None
    """Where the bytes were read, pinned too, when a registry mirror covers `reference`."""

    @property
    def location(self) -> Reference:
        """The reference every request goes to: the mirror's, else `reference` itself."""
        return self.mirror or self.reference

    @property
    def digest(self) -> str:
        """The manifest digest: what signatures sign and status records."""
        return self.reference.digest or ""

    @property
    def registry(self) -> str:
        """The registry host, normalized (`docker.io` for Docker Hub)."""
        return self.reference.registry

    @property
    def repository(self) -> str:
        """The repository path inside the registry."""
        return self.reference.repository

    @property
    def layer_digest(self) -> str:
        """The digest of the layer blob nodes pull."""
        return self.layer.digest

    @property
    def size(self) -> int:
        """The layer blob's size in bytes as the manifest declares it."""
        return self.layer.size


def resolve(
    reference: str | Reference,
    settings: RegistrySettings,
    credentials: Credentials | None = None,
    pinned_digest: str | None = None,
) -> Resolved:
    """Resolve to a manifest digest, detect the layout, and check the caps that need no download.

    `pinned_digest` is `spec.source.digest`: when given, the manifest must have exactly it.
    When a mirror in `settings` covers the reference, every request goes to the mirror.
    """
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    if pinned_digest is not None:
        check_digest(pinned_digest, "spec.source.digest")
        if ref.digest is not None and ref.digest != pinned_digest:
            raise DigestMismatch(
                f"spec.source.digest {pinned_digest} differs from the digest in "
                f"spec.source.image ({ref.digest}); keep one of them"
            )
    mirror = settings.mirror_of(ref)
    at = mirror or ref
    with RegistryClient(at.registry, settings, credentials, at.repository) as client:
        manifest = client.manifest(at.repository, pinned_digest or ref.target)
        if pinned_digest and ref.tag and ref.digest is None:
            current = client.head_digest(at.repository, ref.tag)
            if current is not None and current != pinned_digest:
                read_at = f" (read at {at})" if mirror else ""
                raise DigestMismatch(
                    f"spec.source.image {ref}: the tag now points to {current}{read_at}, not the "
                    f"pinned spec.source.digest {pinned_digest}; update the pin or the tag"
                )
    detected = detect_layout(manifest)
    if detected.layer.size > settings.max_blob_bytes:
        raise ArtifactTooLarge(
            f"{ref}: the wasm layer is {detected.layer.size} bytes; the cap is "
            f"{settings.max_blob_bytes} (spec.source.maxSize or the registry settings)"
        )
    return Resolved(
        reference=ref.pinned(manifest.digest),
        layout=detected.layout,
        layer=detected.layer,
        manifest_media_type=manifest.media_type,
        manifest_size=manifest.size,
        annotations=manifest.annotations,
        mirror=None if mirror is None else mirror.pinned(manifest.digest),
    )
