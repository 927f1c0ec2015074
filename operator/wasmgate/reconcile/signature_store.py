"""The registry client seen through trust's `SignatureStore` protocol.

`trust` must not import `oci` (stages are independent), so it declares what it reads as a
protocol. `RegistryClient.blob_bytes` takes oci's own `Descriptor`, which is narrower than the
protocol's `DescriptorLike`, so mypy rightly refuses the client as a store; this adapter rebuilds
the descriptor and forwards every call.

Behind a registry mirror, trust still names the original repository (it judges signatures for
it) while the client talks to the mirror: `read_from` is the mirror's repository, used for every
read in place of the one trust names.
"""

from __future__ import annotations

from wasmgate.oci.client import RegistryClient
from wasmgate.oci.manifest import Descriptor, Manifest
from wasmgate.trust.store import DescriptorLike


class RegistrySignatureStore:
    """Read access for `trust.verify` through one open `RegistryClient`."""

    def __init__(self, client: RegistryClient, read_from: str | None = None) -> None:
        self._client = client
        self._read_from = read_from

    def _repository(self, repository: str) -> str:
        return self._read_from or repository

    def manifest_or_none(self, repository: str, reference: str) -> Manifest | None:
        return self._client.manifest_or_none(self._repository(repository), reference)

    def referrers(self, repository: str, digest: str, artifact_type: str) -> Manifest | None:
        return self._client.referrers(self._repository(repository), digest, artifact_type)

    def blob_bytes(self, repository: str, layer: DescriptorLike, max_bytes: int) -> bytes:
        descriptor = Descriptor(
            layer.media_type, layer.digest, layer.size, dict(layer.annotations), layer.artifact_type
        )
        return self._client.blob_bytes(self._repository(repository), descriptor, max_bytes)
