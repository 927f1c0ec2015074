"""Download the wasm module of a resolved artifact to a file, never a partial or unverified one.

Bytes stream through a hashing, size-capped reader into a temp file next to the destination,
which is fsynced and renamed only after the digest matched; memory stays at one chunk. For the
compat layout the tar(.gz) layer streams through tarfile and only `plugin.wasm` is written, while
the layer digest is still checked over every byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wasmgate import metrics
from wasmgate.errors import ArtifactInvalid, ArtifactTooLarge, WasmgateError
from wasmgate.oci.blobreader import BlobReader
from wasmgate.oci.client import RegistryClient
from wasmgate.oci.credentials import Credentials
from wasmgate.oci.layout import COMPAT_MEMBER, Layout
from wasmgate.oci.resolve import Resolved
from wasmgate.oci.settings import RegistrySettings

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FetchedLayer:
    """Where the module landed and the digests that name it."""

    path: Path
    layer_digest: str
    """Digest of the registry blob (for the compat layout, of the tar layer)."""
    wasm_digest: str
    """Digest of the module bytes in `path`; equals `layer_digest` except for compat images."""
    size: int


@contextlib.contextmanager
def _atomic_file(destination: Path) -> Iterator[IO[bytes]]:
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
    )
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        Path(handle.name).replace(destination)
    except BaseException:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise


class _HashingWriter:
    def __init__(self, target: IO[bytes], cap: int, what: str) -> None:
        self._target = target
        self._cap = cap
        self._what = what
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self._cap:
            raise ArtifactTooLarge(
                f"{self._what}: more than {self._cap} bytes; the cap is {self._cap}"
            )
        self.hash.update(data)
        return self._target.write(data)


def _extract_compat(reader: BlobReader, target: IO[bytes], cap: int, what: str) -> tuple[str, int]:
    writer = _HashingWriter(target, cap, f"{what} {COMPAT_MEMBER}")
    found = False
    try:
        with tarfile.open(fileobj=reader, mode="r|*") as archive:
            for member in archive:
                if member.name.removeprefix("./") != COMPAT_MEMBER or not member.isfile():
                    continue
                source = archive.extractfile(member)
                if source is None:
                    break
                shutil.copyfileobj(source, writer, CHUNK_BYTES)
                found = True
                break
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ArtifactInvalid(f"{what}: the layer is not a readable tar(.gz) archive ({e})") from e
    # Hash the rest of the layer so the digest covers every byte the registry sent.
    reader.drain()
    if not found:
        raise ArtifactInvalid(f"{what}: the layer has no {COMPAT_MEMBER} at its root")
    return "sha256:" + writer.hash.hexdigest(), writer.size


def fetch_layer(
    resolved: Resolved,
    destination: Path,
    settings: RegistrySettings,
    credentials: Credentials | None = None,
) -> FetchedLayer:
    """Write the module of `resolved` to `destination` atomically; raise before renaming if the
    bytes do not match."""
    started = time.perf_counter()
    try:
        fetched = _fetch_layer(resolved, destination, settings, credentials)
    except WasmgateError as e:
        metrics.record_fetch(e.reason, time.perf_counter() - started)
        raise
    metrics.record_fetch("ok", time.perf_counter() - started, fetched.size)
    return fetched


def _fetch_layer(
    resolved: Resolved,
    destination: Path,
    settings: RegistrySettings,
    credentials: Credentials | None,
) -> FetchedLayer:
    what = f"layer {resolved.layer_digest} of {resolved.location}"
    ref = resolved.location
    with (
        RegistryClient(ref.registry, settings, credentials, ref.repository) as client,
        client.open_blob(ref.repository, resolved.layer, settings.max_blob_bytes) as reader,
        _atomic_file(destination) as target,
    ):
        if resolved.layout is Layout.COMPAT:
            wasm_digest, size = _extract_compat(reader, target, settings.max_blob_bytes, what)
        else:
            reader.copy_to(target)
            wasm_digest, size = resolved.layer_digest, reader.bytes_read
    return FetchedLayer(destination, resolved.layer_digest, wasm_digest, size)
