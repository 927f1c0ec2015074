"""Copy plugins, their signatures and a sigstore trusted root from registries into a layout tar.

Per reference: the artifact (resolved and layout-checked like the operator does), its cosign
legacy signature manifest (`sha256-<hex>.sig`), and its sigstore bundles found where the verifier
looks (the referrers API, else the fallback tag `sha256-<hex>`), each with every blob it names.
Every manifest keeps its exact bytes, so every digest (and so every signature) stays valid.
`index.json` annotations say which repository and tag each manifest belongs to and what it is.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from wasmgate.airgap.layout_tar import CHUNK_BYTES, LayoutWriter
from wasmgate.errors import ArtifactTooLarge
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.manifest import OCI_MANIFEST, Descriptor, Manifest
from wasmgate.oci.reference import Reference, parse_reference
from wasmgate.oci.resolve import resolve
from wasmgate.oci.settings import RegistrySettings
from wasmgate.trust.bundle import BUNDLE_ARTIFACT_TYPE, fallback_tag
from wasmgate.trust.legacy import sig_tag

REF_NAME = "org.opencontainers.image.ref.name"
"""The tag a manifest had (the OCI layout annotation for it)."""
REPOSITORY = "dev.wasmgate.repository"
"""`registry/repository` the manifest was saved from."""
ROLE = "dev.wasmgate.role"
"""What the manifest is: one of the ROLE_* values."""
ROLE_ARTIFACT = "artifact"
ROLE_SIGNATURE = "legacy-signature"
ROLE_REFERRER = "referrer"
ROLE_TRUSTED_ROOT = "trusted-root"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
MAX_REFERRERS = 64


@dataclass(frozen=True)
class Saved:
    """One saved reference and what came with it."""

    reference: Reference
    """Pinned to the manifest digest."""
    legacy_signatures: int
    """Layers of the `.sig` manifest (one per signature)."""
    referrers: int


class _Saver:
    def __init__(
        self,
        writer: LayoutWriter,
        settings: RegistrySettings,
        credentials: Credentials,
    ) -> None:
        self.writer = writer
        self.settings = settings
        self.credentials = credentials
        self.entries: list[Descriptor] = []

    def _blob(self, client: RegistryClient, repository: str, blob: Descriptor) -> None:
        if self.writer.has(blob.digest):
            return
        with client.open_blob(repository, blob, self.settings.max_blob_bytes) as reader:
            # tarfile needs full reads; a raw response read may return less than asked.
            self.writer.add_stream(blob, io.BufferedReader(reader, CHUNK_BYTES), reader.drain)

    def _manifest(
        self, client: RegistryClient, ref: Reference, reference: str, annotations: dict[str, str]
    ) -> Manifest | None:
        found = client.manifest_and_bytes(ref.repository, reference)
        if found is None:
            return None
        manifest, data = found
        for blob in (*((manifest.config,) if manifest.config else ()), *manifest.layers):
            self._blob(client, ref.repository, blob)
        self.writer.add_bytes(data)
        self.entries.append(
            Descriptor(
                manifest.media_type,
                manifest.digest,
                manifest.size,
                {REPOSITORY: ref.name, **annotations},
                manifest.artifact_type,
            )
        )
        return manifest

    def _referrers(self, client: RegistryClient, ref: Reference, digest: str) -> list[Descriptor]:
        index = client.referrers(ref.repository, digest, BUNDLE_ARTIFACT_TYPE)
        if index is None:
            index = client.manifest_or_none(ref.repository, fallback_tag(digest))
        listed = list(index.manifests) if index is not None else []
        if len(listed) > MAX_REFERRERS:
            raise ArtifactTooLarge(
                f"{ref.name}@{digest}: {len(listed)} referrers; the cap is {MAX_REFERRERS}. "
                "Remove stale signatures from the registry"
            )
        return listed

    def save(self, text: str) -> Saved:
        ref = parse_reference(text, "REF")
        resolved = resolve(ref, self.settings, self.credentials)
        digest = resolved.digest
        with RegistryClient(
            ref.registry, self.settings, self.credentials, ref.repository
        ) as client:
            tag = {REF_NAME: ref.tag} if ref.tag else {}
            self._manifest(client, ref, digest, {ROLE: ROLE_ARTIFACT, **tag})
            signature = self._manifest(
                client, ref, sig_tag(digest), {ROLE: ROLE_SIGNATURE, REF_NAME: sig_tag(digest)}
            )
            referrers = self._referrers(client, ref, digest)
            for entry in referrers:
                self._manifest(client, ref, entry.digest, {ROLE: ROLE_REFERRER})
        return Saved(resolved.reference, len(signature.layers) if signature else 0, len(referrers))

    def trusted_root(self, data: bytes) -> None:
        config = self.writer.add_bytes(b"{}")
        layer = self.writer.add_bytes(data)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": TRUSTED_ROOT_MEDIA_TYPE,
            "config": {"mediaType": EMPTY_CONFIG, "digest": config, "size": 2},
            "layers": [{"mediaType": TRUSTED_ROOT_MEDIA_TYPE, "digest": layer, "size": len(data)}],
        }
        encoded = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
        digest = self.writer.add_bytes(encoded)
        self.entries.append(
            Descriptor(
                OCI_MANIFEST,
                digest,
                len(encoded),
                {ROLE: ROLE_TRUSTED_ROOT},
                TRUSTED_ROOT_MEDIA_TYPE,
            )
        )


def save(
    references: Sequence[str],
    writer: LayoutWriter,
    settings: RegistrySettings,
    credentials: Credentials,
    trusted_root: bytes | None,
) -> list[Saved]:
    """Save every reference (and the trusted root, when given) into `writer`, then finish it."""
    saver = _Saver(writer, settings, credentials)
    saved = [saver.save(text) for text in references]
    if trusted_root is not None:
        saver.trusted_root(trusted_root)
    writer.finish(saver.entries)
    return saved
