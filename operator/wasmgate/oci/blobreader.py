"""A file-like view of a blob download that hashes as it goes and stops at a size cap.

Consumers (a plain copy to disk, or tarfile's streaming reader for compat images) read it like
a file; memory stays at one chunk whatever the blob's size. Reaching the end checks the digest,
so a consumer that reads to EOF cannot miss a mismatch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import queue
import threading
from typing import IO

import requests
import urllib3.exceptions

from wasmgate.errors import ArtifactTooLarge, DigestMismatch, RegistryUnavailable

CHUNK_BYTES = 1 << 20
PREFETCH_CHUNKS = 4


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

    def _too_large(self) -> ArtifactTooLarge:
        return ArtifactTooLarge(
            f"{self._what}: the registry sent more than the {self._expected} bytes the "
            "manifest declares"
        )

    def _receive(self, size: int) -> bytes:
        try:
            return bytes(self._response.raw.read(size, decode_content=True))
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as e:
            raise RegistryUnavailable(f"{self._what}: download interrupted ({e})") from e

    def _account(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.bytes_read += len(chunk)
        if self.bytes_read > self._expected:
            raise self._too_large()

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the verified end."""
        # Overridden (not just readinto) so each chunk is handed on without an extra copy.
        remaining = self._expected + 1 - self.bytes_read
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if wanted <= 0:
            raise self._too_large()
        chunk = self._receive(wanted)
        if not chunk:
            self._finish()
            return b""
        self._account(chunk)
        return chunk

    def copy_to(self, target: IO[bytes]) -> None:
        """Copy the whole blob into `target` and verify it.

        A helper thread receives while this one hashes and writes (both release the GIL), as a
        Go client would overlap them; the queue bounds memory to PREFETCH_CHUNKS chunks.
        """
        chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=PREFETCH_CHUNKS)
        stop = threading.Event()

        def receive() -> None:
            received = 0
            try:
                while not stop.is_set():
                    # One byte past the declared size is enough to prove "too large".
                    wanted = min(CHUNK_BYTES, self._expected + 1 - received)
                    chunk = self._receive(wanted) if wanted > 0 else b""
                    received += len(chunk)
                    chunks.put(chunk)
                    if not chunk:
                        return
            except BaseException as e:  # handed to the consumer, which raises it
                chunks.put(e)

        receiver = threading.Thread(target=receive, name="blob-receiver", daemon=True)
        receiver.start()
        try:
            while True:
                item = chunks.get()
                if isinstance(item, BaseException):
                    raise item
                if not item:
                    break
                self._account(item)
                target.write(item)
            self._finish()
        finally:
            stop.set()
            while receiver.is_alive():
                # Unblock a receiver waiting on a full queue; it sees `stop` and ends.
                with contextlib.suppress(queue.Empty):
                    chunks.get(timeout=0.05)
            receiver.join()

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
