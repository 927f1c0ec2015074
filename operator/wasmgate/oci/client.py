"""The registry API calls wasmgate makes, each with its size cap and digest check.

Why not oras-py: it buffers manifests whole, never checks a blob against its digest, has no size
caps, retries every error (auth included) with sleeps of minutes, and follows redirects with
credentials attached. See docs/signatures.md. This client is small and uses the one transport.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import requests

from wasmgate.errors import (
    ArtifactInvalid,
    ArtifactNotFound,
    ArtifactTooLarge,
    DigestMismatch,
    RegistryUnavailable,
)
from wasmgate.oci.blobreader import BlobReader
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.manifest import ACCEPT_MANIFESTS, OCI_INDEX, Descriptor, Manifest, parse_manifest
from wasmgate.oci.reference import check_digest, sha256_digest
from wasmgate.oci.settings import RegistrySettings
from wasmgate.oci.transport import Transport


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _read_capped(response: requests.Response, cap: int, what: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise ArtifactTooLarge(f"{what}: {declared} bytes; the cap is {cap}")
    data = response.raw.read(cap + 1, decode_content=True)
    if len(data) > cap:
        raise ArtifactTooLarge(f"{what}: more than {cap} bytes; the cap is {cap}")
    return bytes(data)


def _unexpected(response: requests.Response, what: str) -> RegistryUnavailable:
    return RegistryUnavailable(f"{what}: unexpected HTTP {response.status_code} from the registry")


class RegistryClient:
    """Calls to one registry; create one per reconcile step and close it."""

    def __init__(
        self,
        registry: str,
        settings: RegistrySettings,
        credentials: Credentials | None = None,
        repository_for_credentials: str = "",
        transport: Transport | None = None,
    ) -> None:
        credential = (credentials or Credentials()).for_repository(
            registry, repository_for_credentials
        )
        self.settings = settings
        self.transport = transport or Transport(registry, settings, credential)
        self.registry = self.transport.registry

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.transport.close()

    # -- manifests ---------------------------------------------------------------------------

    def head_digest(self, repository: str, tag: str) -> str | None:
        """The digest a tag points to per HEAD, or None when the registry does not say."""
        what = f"manifest {self.registry}/{repository}:{tag}"
        with self.transport.request(
            "HEAD",
            f"/v2/{repository}/manifests/{tag}",
            scope=_pull(repository),
            what=what,
            headers={"Accept": ACCEPT_MANIFESTS},
        ) as response:
            if response.status_code == 404:
                raise ArtifactNotFound(
                    f"{what}: not found; check the repository and tag (`oras repo tags`)"
                )
            if response.status_code != 200:
                return None
            digest = response.headers.get("Docker-Content-Digest", "")
        return digest if digest.startswith("sha256:") else None

    def manifest(self, repository: str, reference: str) -> Manifest:
        """Fetch and parse a manifest by tag or digest; the bytes are checked against the digest."""
        found = self.manifest_or_none(repository, reference)
        if found is None:
            raise ArtifactNotFound(
                f"manifest {self.registry}/{repository}{_sep(reference)}{reference}: not found; "
                "check the repository, tag or digest"
            )
        return found

    def manifest_or_none(self, repository: str, reference: str) -> Manifest | None:
        """Like `manifest`, but None when the registry has no such manifest."""
        found = self.manifest_and_bytes(repository, reference)
        return None if found is None else found[0]

    def manifest_and_bytes(self, repository: str, reference: str) -> tuple[Manifest, bytes] | None:
        """The parsed manifest and its exact bytes (to copy it elsewhere under the same digest),
        or None when the registry has no such manifest."""
        expected: str | None = reference if reference.startswith("sha256:") else None
        if expected is None:
            try:
                expected = self.head_digest(repository, reference)
            except ArtifactNotFound:
                return None
        target = expected or reference
        what = f"manifest {self.registry}/{repository}{_sep(target)}{target}"
        with self.transport.request(
            "GET",
            f"/v2/{repository}/manifests/{target}",
            scope=_pull(repository),
            what=what,
            headers={"Accept": ACCEPT_MANIFESTS},
        ) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise _unexpected(response, what)
            data = _read_capped(response, self.settings.max_manifest_bytes, what)
            content_type = response.headers.get("Content-Type")
        actual = sha256_digest(data)
        if expected is not None and actual != expected:
            raise DigestMismatch(
                f"{what}: the manifest bytes hash to {actual}; the registry's copy is corrupt "
                "or was tampered with"
            )
        return parse_manifest(data, actual, content_type, self.settings.max_layers), data

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """Upload a manifest under a tag (or its digest) and return its digest."""
        digest = sha256_digest(data)
        what = f"manifest {self.registry}/{repository}{_sep(reference)}{reference}"
        with self.transport.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=_push(repository),
            what=what,
            headers={"Content-Type": media_type},
            body=data,
        ) as response:
            if response.status_code not in (200, 201):
                raise ArtifactInvalid(
                    f"{what}: the registry rejected the manifest (HTTP {response.status_code}: "
                    f"{response.text[:200]})"
                )
        return digest

    def referrers(self, repository: str, digest: str, artifact_type: str) -> Manifest | None:
        """The referrers index of a digest, or None when the registry lacks the referrers API."""
        check_digest(digest)
        what = f"referrers of {self.registry}/{repository}@{digest}"
        with self.transport.request(
            "GET",
            f"/v2/{repository}/referrers/{digest}",
            scope=_pull(repository),
            what=what,
            params={"artifactType": artifact_type},
            headers={"Accept": OCI_INDEX},
        ) as response:
            # Registries without the API answer 404 (or 405 for an unknown route): the OCI
            # distribution spec then says to use the fallback tag.
            if response.status_code in (404, 405):
                return None
            if response.status_code != 200:
                raise _unexpected(response, what)
            data = _read_capped(response, self.settings.max_manifest_bytes, what)
        return parse_manifest(data, sha256_digest(data), OCI_INDEX, self.settings.max_layers)

    # -- blobs -------------------------------------------------------------------------------

    def open_blob(self, repository: str, layer: Descriptor, max_bytes: int) -> BlobReader:
        """A verifying, capped reader over a blob; the caller closes it."""
        what = f"blob {self.registry}/{repository}@{layer.digest}"
        if layer.size > max_bytes:
            raise ArtifactTooLarge(
                f"{what}: the manifest declares {layer.size} bytes; the cap is {max_bytes}"
            )
        response = self.transport.request(
            "GET", f"/v2/{repository}/blobs/{layer.digest}", scope=_pull(repository), what=what
        )
        if response.status_code != 200:
            response.close()
            if response.status_code == 404:
                raise ArtifactNotFound(f"{what}: the manifest names a blob the registry lacks")
            raise _unexpected(response, what)
        return BlobReader(response, layer.digest, layer.size, what)

    def blob_bytes(self, repository: str, layer: Descriptor, max_bytes: int) -> bytes:
        """A small blob (config, signature payload, bundle) in memory, digest-checked."""
        with self.open_blob(repository, layer, max_bytes) as reader:
            data = reader.read()
            reader.drain()
        return data

    def blob_exists(self, repository: str, digest: str) -> bool:
        """Whether the repository already has this blob (so a push can skip it)."""
        what = f"blob {self.registry}/{repository}@{digest}"
        with self.transport.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scope=_push(repository), what=what
        ) as response:
            return response.status_code == 200

    def put_blob(self, repository: str, body: bytes | Path) -> Descriptor:
        """Upload a blob monolithically (POST then PUT) unless present; return its descriptor."""
        digest, size = _digest_of(body)
        descriptor = Descriptor("application/octet-stream", digest, size)
        if self.blob_exists(repository, digest):
            return descriptor
        what = f"upload to {self.registry}/{repository}"
        with self.transport.request(
            "POST", f"/v2/{repository}/blobs/uploads/", scope=_push(repository), what=what
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code != 202 or not location:
                raise _unexpected(response, what)
        separator = "&" if "?" in location else "?"
        if location.startswith("/"):
            location = self.transport.base_url + location
        with self.transport.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            scope=_push(repository),
            what=what,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            body=body,
        ) as response:
            if response.status_code not in (201, 204):
                raise _unexpected(response, what)
        return descriptor


def _sep(reference: str) -> str:
    return "@" if reference.startswith("sha256:") else ":"


def _digest_of(body: bytes | Path) -> tuple[str, int]:
    if isinstance(body, bytes):
        return sha256_digest(body), len(body)
    digest = hashlib.sha256()
    size = 0
    with body.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return "sha256:" + digest.hexdigest(), size
