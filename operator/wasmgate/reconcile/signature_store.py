"""The registry client seen through trust's `SignatureStore` protocol.

`trust` must not import `oci` (stages are independent), so it declares what it reads as a
protocol. `RegistryClient.blob_bytes` takes oci's own `Descriptor`, which is narrower than the
protocol's `DescriptorLike`, so mypy rightly refuses the client as a store; this adapter rebuilds
the descriptor and forwards every call.
"""

from __future__ import annotations

from wasmgate.oci.client import RegistryClient
from wasmgate.oci.manifest import Descriptor, Manifest
from wasmgate.trust.store import DescriptorLike


class RegistrySignatureStore:
    """Read access for `trust.verify` through one open `RegistryClient`."""

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def manifest_or_none(self, repository: str, reference: str) -> Manifest | None:
        return self._client.manifest_or_none(repository, reference)

    def referrers(self, repository: str, digest: str, artifact_type: str) -> Manifest | None:
        return self._client.referrers(repository, digest, artifact_type)

    def blob_bytes(self, repository: str, layer: DescriptorLike, max_bytes: int) -> bytes:
        descriptor = Descriptor(
            layer.media_type, layer.digest, layer.size, dict(layer.annotations), layer.artifact_type
        )
        return self._client.blob_bytes(repository, descriptor, max_bytes)
