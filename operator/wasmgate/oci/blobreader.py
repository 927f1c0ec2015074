"""A file-like view of a blob download that hashes as it goes and stops at a size cap.

Consumers (a plain copy to disk, or tarfile's streaming reader for compat images) read it like
a file; memory stays at one chunk whatever the blob's size. Reaching the end checks the digest,
so a consumer that reads to EOF cannot miss a mismatch.
"""

from __future__ import annotations

import hashlib
import io

import requests
import urllib3.exceptions

from wasmgate.errors import ArtifactTooLarge, DigestMismatch, RegistryUnavailable


class BlobReader(io.RawIOBase):
    """Reads a registry response body, verifying `digest` and `expected_size` at the end."""

    def __init__(
        self, response: requests.Response, digest: str, expected_size: int, what: str
    ) -> None:
        super().__init__()
        self._response = response
        self._digest = digest
        self._expected = expected_size
        self._what = what
        self._hash = hashlib.sha256()
        self.bytes_read = 0
        self._verified = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the verified end."""
        # Overridden (not just readinto) so each chunk is handed on without an extra copy.
        remaining = self._expected + 1 - self.bytes_read
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if wanted <= 0:
            raise ArtifactTooLarge(
                f"{self._what}: the registry sent more than the {self._expected} bytes the "
                "manifest declares"
            )
        try:
            chunk = self._response.raw.read(wanted, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise RegistryUnavailable(
                f"{self._what}: download interrupted after {self.bytes_read} bytes ({e})"
            ) from e
        if not chunk:
            self._finish()
            return b""
        self._hash.update(chunk)
        self.bytes_read += len(chunk)
        if self.bytes_read > self._expected:
            raise ArtifactTooLarge(
                f"{self._what}: the registry sent more than the {self._expected} bytes the "
                "manifest declares"
            )
        return bytes(chunk)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def drain(self) -> None:
        """Read and hash whatever is left, then verify."""
        while self.read(1 << 16):
            pass
        self._finish()

    def _finish(self) -> None:
        if self._verified:
            return
        if self.bytes_read != self._expected:
            raise DigestMismatch(
                f"{self._what}: got {self.bytes_read} bytes, the manifest declares {self._expected}"
            )
        actual = "sha256:" + self._hash.hexdigest()
        if actual != self._digest:
            raise DigestMismatch(
                f"{self._what}: the bytes hash to {actual}, not {self._digest}; the registry's "
                "copy is corrupt or was tampered with"
            )
        self._verified = True

    @property
    def verified(self) -> bool:
        """Whether the whole blob was read and matched its digest."""
        return self._verified

    def close(self) -> None:
        self._response.close()
        super().close()
