"""Find every signature of a digest: the legacy `.sig` tag, then bundles among its referrers.

Referrers come from the OCI 1.1 referrers API, or, on registries without it, from the fallback
index tagged `sha256-<hex>` (what cosign and other clients write there). The total examined is
capped; a place that cannot be read becomes a rejection with its reason, except registry outages
and auth failures, which propagate so they are never mistaken for bad signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wasmgate.errors import (
    ArtifactInvalid,
    ArtifactNotFound,
    ArtifactTooLarge,
    DigestMismatch,
    SignatureInvalid,
    SignatureLimitExceeded,
    WasmgateError,
)
from wasmgate.trust.bundle import (
    BUNDLE_ARTIFACT_TYPE,
    BUNDLE_MEDIA_TYPES,
    fallback_tag,
    parse_bundle,
)
from wasmgate.trust.candidates import (
    Candidate,
    Discovery,
    Rejection,
    SignatureCheck,
    SignatureFormat,
)
from wasmgate.trust.legacy import SIMPLESIGNING, parse_legacy, sig_tag
from wasmgate.trust.settings import TrustSettings
from wasmgate.trust.store import DescriptorLike, ManifestLike, SignatureStore, Subject

# go-containerregistry's registry lists a referrer's config media type as its artifactType, so
# a bundle may appear as the empty config type; such entries are opened to look inside.
_AMBIGUOUS_ARTIFACT_TYPES = frozenset({None, "", "application/vnd.oci.empty.v1+json"})
STALE_HINT = "Remove stale signatures from the registry"
# Errors about one signature's bytes; they reject that signature, not the verification.
_READ_ERRORS = (
    ArtifactInvalid,
    ArtifactNotFound,
    ArtifactTooLarge,
    DigestMismatch,
    SignatureInvalid,
)


@dataclass
class Found:
    """Candidates found, places that failed to read, and where we looked."""

    candidates: list[Candidate] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    looked_at: list[str] = field(default_factory=list)


def _reason(error: WasmgateError) -> str:
    if isinstance(error, ArtifactTooLarge):
        return SignatureLimitExceeded.reason
    return error.reason


class _Walker:
    def __init__(self, store: SignatureStore, subject: Subject, settings: TrustSettings) -> None:
        self.store = store
        self.repository = subject.repository
        self.name = f"{subject.registry}/{subject.repository}"
        self.digest = subject.digest
        self.settings = settings
        self.found = Found()
        self.examined = 0

    def _count(self, more: int, where: str) -> None:
        self.examined += more
        if self.examined > self.settings.max_signatures:
            raise SignatureLimitExceeded(
                f"{self.name}@{self.digest}: more than {self.settings.max_signatures} signatures "
                f"and referrers (at {where}); refusing to examine them all. {STALE_HINT} or "
                "raise the trust settings' max_signatures"
            )

    def _attempt(
        self,
        location: str,
        fmt: SignatureFormat,
        discovery: Discovery,
        read: Callable[[], Candidate | None],
    ) -> None:
        try:
            candidate = read()
        except SignatureLimitExceeded:
            raise
        except _READ_ERRORS as e:
            self.found.rejections.append(
                Rejection(location, SignatureCheck.READ, _reason(e), e.message, fmt, discovery)
            )
            return
        if candidate is not None:
            self.found.candidates.append(candidate)

    def _manifest(self, reference: str, where: str) -> ManifestLike | None:
        try:
            return self.store.manifest_or_none(self.repository, reference)
        except ArtifactTooLarge as e:
            # A .sig manifest grows by one layer per signature, so its caps are signature caps.
            raise SignatureLimitExceeded(f"{where}: {e.message}. {STALE_HINT}") from e

    def legacy(self) -> None:
        tag = sig_tag(self.digest)
        where = f"{self.name}:{tag}"
        self.found.looked_at.append(where)
        manifest = None
        try:
            manifest = self._manifest(tag, where)
        except SignatureLimitExceeded:
            raise
        except _READ_ERRORS as e:
            self.found.rejections.append(
                Rejection(where, SignatureCheck.READ, _reason(e), e.message, SignatureFormat.LEGACY)
            )
        if manifest is None:
            return
        layers = [layer for layer in manifest.layers if layer.media_type == SIMPLESIGNING]
        self._count(len(layers), where)
        for index, layer in enumerate(layers):
            location = f"{self.name}@{manifest.digest} layer {index}"

            def read(layer: DescriptorLike = layer, location: str = location) -> Candidate:
                payload = self.store.blob_bytes(
                    self.repository, layer, self.settings.max_payload_bytes
                )
                return parse_legacy(payload, layer.annotations, location)

            self._attempt(location, SignatureFormat.LEGACY, Discovery.SIG_TAG, read)

    def bundles(self) -> None:
        index = self.store.referrers(self.repository, self.digest, BUNDLE_ARTIFACT_TYPE)
        discovery = Discovery.REFERRERS_API
        where = f"{self.name} referrers of {self.digest}"
        if index is None:
            discovery = Discovery.FALLBACK_TAG
            where = f"{self.name}:{fallback_tag(self.digest)}"
            try:
                index = self._manifest(fallback_tag(self.digest), where)
            except SignatureLimitExceeded:
                raise
            except _READ_ERRORS as e:
                self.found.rejections.append(
                    Rejection(
                        where, SignatureCheck.READ, _reason(e), e.message, SignatureFormat.BUNDLE
                    )
                )
                return
        self.found.looked_at.append(where)
        if index is None:
            return
        entries = [
            d
            for d in index.manifests
            if d.artifact_type in _AMBIGUOUS_ARTIFACT_TYPES
            or d.artifact_type == BUNDLE_ARTIFACT_TYPE
        ]
        self._count(len(entries), where)
        for entry in entries:
            location = f"{self.name}@{entry.digest}"

            def read(entry: DescriptorLike = entry, location: str = location) -> Candidate | None:
                return self._bundle(entry, location, discovery)

            self._attempt(location, SignatureFormat.BUNDLE, discovery, read)

    def _bundle(
        self, entry: DescriptorLike, location: str, discovery: Discovery
    ) -> Candidate | None:
        manifest = self.store.manifest_or_none(self.repository, entry.digest)
        if manifest is None:
            raise ArtifactNotFound(f"{location}: listed as a referrer but not in the registry")
        layers = [layer for layer in manifest.layers if layer.media_type in BUNDLE_MEDIA_TYPES]
        if manifest.artifact_type != BUNDLE_ARTIFACT_TYPE and not layers:
            return None  # another kind of referrer (an SBOM, an attestation store...)
        if len(layers) != 1:
            raise SignatureInvalid(
                f"{location}: a bundle referrer must have exactly one bundle layer"
            )
        data = self.store.blob_bytes(self.repository, layers[0], self.settings.max_bundle_bytes)
        return parse_bundle(data, location, discovery)


def find_signatures(store: SignatureStore, subject: Subject, settings: TrustSettings) -> Found:
    """Every signature candidate of the subject's digest, within the caps."""
    walker = _Walker(store, subject, settings)
    walker.legacy()
    walker.bundles()
    return walker.found
