"""An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) as a tar file.

The layout is the format registries and tools already agree on (oras, skopeo and crane read it),
so a bundle can be examined with them. Writing streams each blob into the tar while its digest is
checked and lands under its final name only when complete; reading takes only the layout's own
names, as regular files, and re-hashes every blob before anything is pushed from it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from wasmgate.errors import ArtifactInvalid, DigestMismatch
from wasmgate.oci.manifest import OCI_INDEX, Descriptor, parse_descriptor

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
_BLOB = re.compile(r"^(?:\./)?blobs/sha256/(?P<hex>[a-f0-9]{64})$")
CHUNK_BYTES = 1 << 20
MAX_INDEX_BYTES = 4 * 1024 * 1024


def descriptor_json(descriptor: Descriptor) -> dict[str, Any]:
    """A descriptor as OCI JSON."""
    document: dict[str, Any] = {
        "mediaType": descriptor.media_type,
        "digest": descriptor.digest,
        "size": descriptor.size,
    }
    if descriptor.artifact_type:
        document["artifactType"] = descriptor.artifact_type
    if descriptor.annotations:
        document["annotations"] = dict(descriptor.annotations)
    return document


class LayoutWriter:
    """Writes a layout tar to a temp file beside `destination`, renamed by `finish`."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        self._handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed later
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
        )
        self._tar = tarfile.open(  # noqa: SIM115 - closed by finish or on error
            fileobj=self._handle, mode="w", format=tarfile.PAX_FORMAT
        )
        self._blobs: set[str] = set()

    def __enter__(self) -> LayoutWriter:
        return self

    def __exit__(self, *_: object) -> None:
        # After `finish` the file is renamed and closed; otherwise nothing of it remains.
        self._discard()

    def _discard(self) -> None:
        if self._handle.closed:
            return
        self._tar.close()
        self._handle.close()
        Path(self._handle.name).unlink(missing_ok=True)

    def _add(self, name: str, size: int, source: IO[bytes]) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        self._tar.addfile(info, source)

    def has(self, digest: str) -> bool:
        """Whether the blob is already in the tar (blobs are stored once)."""
        return digest in self._blobs

    def add_bytes(self, data: bytes) -> str:
        """A small blob (a manifest, a config) from memory; its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest not in self._blobs:
            self._add(f"blobs/sha256/{digest[7:]}", len(data), io.BytesIO(data))
            self._blobs.add(digest)
        return digest

    def add_stream(
        self, descriptor: Descriptor, source: IO[bytes], verify: Callable[[], None]
    ) -> None:
        """A blob streamed from `source` (exactly `descriptor.size` bytes); `verify` raises when
        the bytes read do not match the digest (the whole tar is then discarded)."""
        if descriptor.digest in self._blobs:
            return
        self._add(f"blobs/sha256/{descriptor.digest[7:]}", descriptor.size, source)
        verify()
        self._blobs.add(descriptor.digest)

    def finish(self, manifests: list[Descriptor]) -> None:
        """Write `oci-layout` and `index.json` listing `manifests`, then rename into place."""
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor_json(d) for d in manifests],
        }
        for name, document in ((LAYOUT_FILE, LAYOUT_VERSION), (INDEX_FILE, index)):
            data = json.dumps(document, indent=2, sort_keys=True).encode()
            self._add(name, len(data), io.BytesIO(data))
        self._tar.close()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        Path(self._handle.name).replace(self.destination)


class Layout:
    """A layout extracted to a directory, every blob re-hashed."""

    def __init__(self, root: Path, manifests: tuple[Descriptor, ...]) -> None:
        self.root = root
        self.manifests = manifests
        """The `index.json` entries, in order."""

    def blob_path(self, digest: str) -> Path:
        """Where a blob lies; ArtifactInvalid when the bundle lacks it."""
        path = self.root / "blobs" / digest.removeprefix("sha256:")
        if not path.is_file():
            raise ArtifactInvalid(f"the bundle lacks blob {digest}; save it again")
        return path

    def blob_bytes(self, digest: str) -> bytes:
        """A small blob's bytes (a manifest)."""
        return self.blob_path(digest).read_bytes()


def _copy_hashed(source: IO[bytes], target: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK_BYTES):
        digest.update(chunk)
        target.write(chunk)
    return "sha256:" + digest.hexdigest()


def _index(data: bytes, where: str) -> tuple[Descriptor, ...]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ArtifactInvalid(f"{where}: index.json is not JSON") from e
    entries = document.get("manifests") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ArtifactInvalid(f"{where}: index.json has no manifests list")
    return tuple(
        parse_descriptor(e, f"{where} index.json manifests[{i}]") for i, e in enumerate(entries)
    )


def read_layout(path: Path, into: Path) -> Layout:
    """Extract the layout tar at `path` into the directory `into`, checking every blob's digest."""
    where = str(path)
    blobs = into / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    index: bytes | None = None
    try:
        with tarfile.open(path, mode="r:") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if member.isdir() and name in ("blobs", "blobs/sha256", ""):
                    continue
                match = _BLOB.match(name)
                if not member.isfile() or (match is None and name not in (LAYOUT_FILE, INDEX_FILE)):
                    raise ArtifactInvalid(
                        f"{where}: unexpected entry {member.name!r}; a bundle holds only "
                        "oci-layout, index.json and blobs/sha256/<hex> files (write it with "
                        "`wasmgate save`)"
                    )
                source = archive.extractfile(member)
                if source is None:
                    continue
                if name == INDEX_FILE:
                    index = source.read(MAX_INDEX_BYTES + 1)
                    continue
                if match is None:
                    continue
                with (blobs / match["hex"]).open("wb") as target:
                    actual = _copy_hashed(source, target)
                if actual != f"sha256:{match['hex']}":
                    raise DigestMismatch(
                        f"{where}: blob {name} hashes to {actual}; the bundle is corrupt or was "
                        "altered, save it again"
                    )
    except (tarfile.TarError, EOFError) as e:
        raise ArtifactInvalid(
            f"{where}: not a readable tar ({e}); give a `wasmgate save` bundle"
        ) from e
    if index is None or len(index) > MAX_INDEX_BYTES:
        raise ArtifactInvalid(f"{where}: no usable index.json; give a `wasmgate save` bundle")
    return Layout(into, _index(index, where))


def copy_blob(layout: Layout, digest: str, target: Path) -> None:
    """Copy one blob out of the layout (the trusted root to a file)."""
    shutil.copyfile(layout.blob_path(digest), target)
